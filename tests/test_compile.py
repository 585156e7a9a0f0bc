"""`--compile`: the networks compiled with torch.compile train as the eager ones do, keep their names in checkpoints, and a resumed run may turn it off.

Compiling builds C++ kernels on a CPU (minutes on two cores), so these run when `GENBOOK_TEST_COMPILE=1`; `bench/gpu_suite.sh stage` times compiled runs on a GPU."""
import json
import math
import os

import pytest

from cli import genbook, ok_json
from genbook.data import mnist_sample
from genbook.fit import train_run
from genbook.models import MODELS
from genbook.run import Run

ENV = {'GENBOOK_DATA': None}
pytestmark = pytest.mark.skipif(not os.environ.get('GENBOOK_TEST_COMPILE'), reason='compiling takes minutes on a CPU: set GENBOOK_TEST_COMPILE=1')


@pytest.mark.parametrize('model', ['dcgan', 'vae'])
def test_compiled_networks_train_as_eager_ones(model, tmp_path):
    "Same losses as eager within float rounding (weights after Adam can differ by a step's size where a gradient is near zero)."
    small = mnist_sample()
    small.train = small.train[:64]
    kw = dict(max_steps=2, bs=16, data=small, device='cpu', show=False, precision='fp32')
    eager = train_run(MODELS[model], 'mnist', tmp_path/'eager', **kw)
    comp = train_run(MODELS[model], 'mnist', tmp_path/'compiled', compile=True, **kw)
    stats = MODELS[model].stats(MODELS[model].settings(Run(tmp_path/'eager').config))
    for k in stats:
        if isinstance(eager.get(k), float): assert math.isclose(comp[k], eager[k], rel_tol=1e-3, abs_tol=1e-5), (k, comp[k], eager[k])
    assert sorted(Run(tmp_path/'compiled').checkpoint(state=False)[0]) == sorted(Run(tmp_path/'eager').checkpoint(state=False)[0])   # compiled in place: same names
    assert Run(tmp_path/'compiled').config['compile'] is True and Run(tmp_path/'eager').config['compile'] is False


def test_compile_from_the_command_line_and_off_on_resume(tmp_path):
    out, c = tmp_path/'run', dict(cache=tmp_path/'cache', env=ENV)
    ok_json(genbook('train', 'vae', 'mnist', '--out', out, '--max-steps', 2, '--bs', 16, '--device', 'cpu', '--compile', **c))
    assert json.loads((out/'config.json').read_text())['compile'] is True
    m = ok_json(genbook('train', 'vae', 'mnist', '--out', out, '--resume', '--max-steps', 3, '--device', 'cpu', **c))
    assert m['steps'] == 3 and json.loads((out/'config.json').read_text())['compile'] is False
