__version__ = "0.1.0"

import warnings as _warnings

# fastai still compiles a few of its layers with `torch.jit.script`, which torch now deprecates: importing genbook stays silent
_warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated', category=FutureWarning)
