"Black-box tests of `genbook train dcgan` and `genbook sample`: outputs, exact resume after Ctrl-C, refusals."
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

from cli import genbook, ok_json, one_line_error, process_env
from genbook.data import mnist_sample
from genbook.fit import train_run
from genbook.models import MODELS
from genbook.run import Run

# The embedded MNIST sample, never the full data; one thread keeps the timings steady on a shared machine.
ENV = {'GENBOOK_DATA': None, 'OMP_NUM_THREADS': '1'}


def train(out, *args, cache):
    return genbook('train', 'dcgan', 'mnist', '--out', out, *args, cache=cache, env=ENV)


def weights(run):
    d = json.loads((run/'checkpoints'/'latest.json').read_text())['dir']
    return load_file(run/'checkpoints'/d/'model.safetensors')


def history(run):
    lines = (run/'history.csv').read_text().splitlines()
    cols = lines[0].split(',')
    return [{k: v for k, v in zip(cols, l.split(',')) if k != 'seconds'} for l in lines[1:]]


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "A 3-step run on the embedded sample, shared by the tests that only read it."
    d = tmp_path_factory.mktemp('dcgan')
    r = train(d/'run', '--max-steps', '3', '--bs', '32', cache=d/'cache')
    return d, r


def test_tiny_run_writes_everything(tiny):
    d, r = tiny
    m = ok_json(r)
    assert (m['steps'], m['stopped'], m['device']) == (3, 'max_steps', 'cpu')
    for k in ('loss_D', 'loss_G', 'D_x', 'D_G_z', 'seconds'): assert np.isfinite(m[k]), k
    run = d/'run'
    assert sorted(p.name for p in run.iterdir()) == ['checkpoints', 'config.json', 'curves.png', 'history.csv',
                                                     'metrics.json', 'samples', 'samples.gif']
    cfg = json.loads((run/'config.json').read_text())
    assert (cfg['model'], cfg['dataset'], cfg['bs'], cfg['seed'], cfg['data']['source']) == ('dcgan', 'mnist', 32, 0, 'embedded')   # config.json's one shape
    assert (cfg['settings']['arch'], cfg['settings']['lr']) == ('tf28', 1e-4) and 'bs' not in cfg['settings']
    assert json.loads((run/'metrics.json').read_text()) == m
    assert history(run)[-1]['steps'] == '3'
    assert [p.name for p in (run/'samples').iterdir()] == ['step_00000003.png']
    w = weights(run)
    assert w['G.0.weight'].shape == (7*7*256, 100) and w['D.7.weight'].shape == (1, 128*7*7)


def test_sample_png_and_npz(tiny):
    d, _ = tiny
    ok_json(genbook('sample', d/'run', '--n', '10', '--out', d/'s.png', cache=d/'cache', env=ENV))
    assert Image.open(d/'s.png').size == (4*28 + 5*2, 3*28 + 4*2)
    r = ok_json(genbook('sample', d/'run', '--n', '10', '--seed', '1', '--out', d/'s.npz', cache=d/'cache', env=ENV))
    assert r['n'] == 10
    with np.load(d/'s.npz') as z: x = z['images']
    assert (x.shape, x.dtype) == ((10, 28, 28, 1), np.uint8)


def test_existing_out_needs_resume(tiny, tmp_path):
    d, _ = tiny
    one_line_error(train(d/'run', '--max-steps', '3', cache=d/'cache'), 'pass --resume or choose another --out')
    one_line_error(train(tmp_path/'new', '--resume', cache=d/'cache'), 'nothing to resume')
    one_line_error(train(d/'run', '--resume', '--bs', '64', cache=d/'cache'), 'trained with bs=32, not 64')
    one_line_error(train(d/'run', '--resume', cache=d/'cache'), 'already made its 3 steps (max_steps): resume with a larger --max-steps')


def test_resume_after_ctrl_c_is_exact(tmp_path):
    "Ctrl-C in the middle of a run saves a checkpoint; resuming ends where a straight run ends."
    cache, steps = tmp_path/'cache', '100'
    ok_json(train(tmp_path/'straight', '--max-steps', steps, '--bs', '16', cache=cache))
    e = process_env(cache, {'GENBOOK_DATA': None, 'OMP_NUM_THREADS': 1})
    p = subprocess.Popen([sys.executable, '-m', 'genbook.cli', 'train', 'dcgan', 'mnist', '--out', str(tmp_path/'cut'),
                          '--max-steps', steps, '--bs', '16'], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=e)
    for line in p.stderr:
        if line.startswith('epoch'): break   # the progress table's header: training starts
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 130, err
    ptr = json.loads((tmp_path/'cut'/'checkpoints'/'latest.json').read_text())
    assert ptr['steps'] < int(steps), ptr
    m = ok_json(train(tmp_path/'cut', '--resume', cache=cache))
    assert (m['steps'], m['stopped']) == (int(steps), 'max_steps')
    a, b = weights(tmp_path/'straight'), weights(tmp_path/'cut')
    assert a.keys() == b.keys()
    for k in a: assert (a[k] == b[k]).all(), k
    assert history(tmp_path/'straight') == history(tmp_path/'cut')


def test_a_run_with_a_flat_config_resumes(tmp_path):
    "A run written before config.json had its one shape (one flat object, `amp` for bf16) resumes as it trained, and is then recorded in that shape."
    out, spec = tmp_path/'run', MODELS['dcgan']
    train_run(spec, 'mnist', out, max_steps=2, bs=16, data=mnist_sample(), device='cpu', show=False, precision='bf16')
    flat = Run(out).config
    del flat['precision']
    (out/'config.json').write_text(json.dumps(dict(flat, amp=True)))
    assert Run(out).config['precision'] == 'bf16'
    m = train_run(spec, 'mnist', out, max_steps=3, resume=True, data=mnist_sample(), device='cpu', show=False)
    rec = json.loads((out/'config.json').read_text())
    assert m['steps'] == 3 and (rec['precision'], rec['bs'], rec['settings']['arch']) == ('bf16', 16, 'tf28') and 'amp' not in rec
