"`genbook train --processes N`: one run trained by N processes through `accelerate launch` (gloo on this machine's CPU cores)."
import os
import signal
import subprocess
import sys
import time

import psutil

from cli import genbook, ok_json, one_line_error, process_env
from genbook.run import LOCK, Run


def test_two_processes_train_one_run(tmp_path):
    out = tmp_path/'vae2'
    m = ok_json(genbook('train', 'vae', 'mnist', '--out', out, '--processes', 2, '--bs', 32, '--max-steps', 3, '--device', 'cpu', env={'OMP_NUM_THREADS': 1, 'GENBOOK_DATA': None}))
    assert (m['processes'], m['steps'], m['stopped']) == (2, 3, 'max_steps')
    run = Run(out)
    assert {k: run.config[k] for k in ('processes', 'bs', 'bs_per_process')} == dict(processes=2, bs=32, bs_per_process=16)
    assert run.metrics() == m
    assert not (out/LOCK).exists()
    one_line_error(genbook('train', 'vae', 'mnist', '--out', out, '--resume', '--max-steps', 4, '--device', 'cpu', env={'GENBOOK_DATA': None}), 'trained by 2 process(es), not 1')


def test_processes_refused_before_they_start(tmp_path):
    one_line_error(genbook('train', 'vae', 'mnist', '--out', tmp_path/'a', '--processes', 2, '--bs', 33, '--device', 'cpu'), 'does not split evenly into 2 processes')
    one_line_error(genbook('train', 'vae', 'mnist', '--out', tmp_path/'b', '--processes', 100000, '--device', 'cpu'), '100000 processes but')
    assert not (tmp_path/'a').exists() and not (tmp_path/'b').exists()


def test_ctrl_c_stops_every_process_after_one_saved_step(tmp_path):
    "Ctrl-C in a terminal reaches every process of `genbook train --processes 2`: they stop after the same step and save it, the command returns 130 once they have, and --resume goes on."
    out = tmp_path/'cut'
    e = process_env(tmp_path/'cache', {'GENBOOK_DATA': None, 'OMP_NUM_THREADS': 1})
    log = tmp_path/'stderr.txt'
    with open(log, 'w') as f:
        p = subprocess.Popen([sys.executable, '-m', 'genbook.cli', 'train', 'vae', 'mnist', '--out', str(out), '--processes', '2', '--bs', '32',
                              '--max-steps', '100000', '--epochs', '1000', '--device', 'cpu'], stdout=subprocess.DEVNULL, stderr=f, env=e, start_new_session=True)   # far longer than the test: only the Ctrl-C ends it
    try:
        t0 = time.time()
        while '\nepoch' not in log.read_text() and p.poll() is None and time.time() - t0 < 300: time.sleep(0.2)   # the progress table's header: training starts
        assert p.poll() is None and '\nepoch' in log.read_text(), 'training did not start: ' + log.read_text()[-3000:]
        time.sleep(1)
        os.killpg(p.pid, signal.SIGINT)   # a terminal's Ctrl-C goes to its whole foreground process group
        rc = p.wait(timeout=300)
    finally:
        if p.poll() is None: p.kill()
    left = [q.pid for q in psutil.process_iter(['cmdline']) if str(out) in ' '.join(q.info['cmdline'] or [])]
    assert rc == 130, log.read_text()[-3000:]
    assert not left, f'processes of the launch outlived it: {left}'
    run = Run(out)
    m, ptr = run.metrics(), run.latest()
    assert (m['stopped'], m['processes']) == ('interrupted', 2) and 0 < ptr['steps'] == m['steps'] < 100000, (m, ptr)
    assert not (out/LOCK).exists()
    m = ok_json(genbook('train', 'vae', 'mnist', '--out', out, '--resume', '--processes', 2, '--max-steps', ptr['steps'] + 2, '--device', 'cpu',
                       cache=tmp_path/'cache', env={'OMP_NUM_THREADS': 1, 'GENBOOK_DATA': None}))
    assert (m['steps'], m['stopped']) == (ptr['steps'] + 2, 'max_steps')
