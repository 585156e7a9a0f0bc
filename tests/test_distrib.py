"`genbook train --processes N`: one run trained by N processes through `accelerate launch` (gloo on this machine's CPU cores)."
import json

from cli import genbook, ok_json, one_line_error
from genbook.run import LOCK, Run


def test_two_processes_train_one_run(tmp_path):
    out = tmp_path/'vae2'
    m = ok_json(genbook('train', 'vae', 'mnist', '--out', out, '--processes', 2, '--bs', 32, '--max-steps', 3, '--device', 'cpu', env={'OMP_NUM_THREADS': 1}))
    assert (m['processes'], m['steps'], m['stopped']) == (2, 3, 'max_steps')
    run = Run(out)
    assert {k: run.config[k] for k in ('processes', 'bs', 'bs_per_process')} == dict(processes=2, bs=32, bs_per_process=16)
    assert run.metrics() == m
    assert not (out/LOCK).exists()
    one_line_error(genbook('train', 'vae', 'mnist', '--out', out, '--resume', '--max-steps', 4, '--device', 'cpu'), 'trained by 2 process(es), not 1')


def test_processes_refused_before_they_start(tmp_path):
    one_line_error(genbook('train', 'vae', 'mnist', '--out', tmp_path/'a', '--processes', 2, '--bs', 33, '--device', 'cpu'), 'does not split evenly into 2 processes')
    one_line_error(genbook('train', 'vae', 'mnist', '--out', tmp_path/'b', '--processes', 100000, '--device', 'cpu'), '100000 processes but')
    assert not (tmp_path/'a').exists() and not (tmp_path/'b').exists()
