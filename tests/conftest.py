import os, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# pytest-xdist runs the files in several processes at once (`addopts` in pyproject.toml): one thread each, for them and
# the commands they start, keeps the processes from fighting over the cores (at torch's two threads a process, a 4 s
# test took 72 s beside a second worker on two cores).
if os.environ.get('PYTEST_XDIST_WORKER'):
    os.environ['OMP_NUM_THREADS'] = '1'
    if 'torch' in sys.modules: sys.modules['torch'].set_num_threads(1)
