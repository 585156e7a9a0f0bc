"The command line as a process (the installed entry point, exit codes), and the in-process runner the other tests use: same answers, no trace left."
import os
import random
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from cli import genbook, genbook_process, one_line_error, process_env
from genbook import __version__

ENTRY = Path(sys.executable).parent/'genbook'


def test_the_installed_entry_point():
    if not ENTRY.exists(): pytest.skip(f'no genbook entry point at {ENTRY}: pip install -e .')
    r = genbook_process('--version', cmd=[str(ENTRY)])
    assert (r.returncode, r.stdout.strip()) == (0, f'genbook {__version__}')
    one_line_error(genbook_process('train', 'gan', 'mnist', '--out', 'x', cmd=[str(ENTRY)]), "invalid choice: 'gan'")


def test_in_process_answers_as_the_process_does(tmp_path):
    "`python -m genbook.cli` and the in-process runner: the same exit code, output, one-line error and one-line warning."
    env = {'GENBOOK_DATA': None}
    for args in (['data', 'mnist', '--data', tmp_path/'nope'], ['data', 'mnist']):
        a, b = genbook(*args, cache=tmp_path, env=env), genbook_process(*args, cache=tmp_path, env=env)
        assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), args
        if a.returncode: one_line_error(b, 'does not exist')
        else: assert b.stderr.startswith('genbook: warning: MNIST not found: using the embedded sample'), b.stderr


def _state() -> dict:
    return dict(env=dict(os.environ), cwd=os.getcwd(), filters=list(warnings.filters), showwarning=warnings.showwarning,
                threads=torch.get_num_threads(), torch=torch.get_rng_state(), numpy=np.random.get_state()[1].tolist(),
                python=random.getstate(), sigint=signal.getsignal(signal.SIGINT), stdout=sys.stdout, stderr=sys.stderr)


def test_in_process_leaves_no_trace(tmp_path):
    "A run that seeds every generator, sets threads, catches Ctrl-C and warns changes nothing the next test sees."
    env = {'GENBOOK_DATA': None, 'OMP_NUM_THREADS': 1, 'GENBOOK_SOMETHING': 'x'}
    def train(out):
        return genbook('train', 'dcgan', 'mnist', '--out', tmp_path/out, '--max-steps', 1, '--bs', 16, '--device', 'cpu',
                       cache=tmp_path/'cache', env=env)
    r = train('first')   # imports what a run imports: their side effects are the process's, once
    assert r.returncode == 0 and 'embedded sample' in r.stderr, r.stderr
    before = _state()
    r = train('second')
    after = _state()
    for k in before:
        if k == 'torch': assert torch.equal(before[k], after[k]), k
        else: assert before[k] == after[k], k
    assert r.returncode == 0 and 'embedded sample' in r.stderr, 'the same warning, shown again in the next command'


def test_importing_genbook_is_silent():
    "No warning of a library genbook uses reaches the user on import (the default filters, as a user's script has them)."
    r = subprocess.run([sys.executable, '-c', 'import genbook.cli, genbook.models, genbook.evaluate, genbook.compare, genbook.latent'],
                       capture_output=True, text=True, env=process_env())
    assert r.returncode == 0 and r.stderr == '' and r.stdout == '', r.stderr[-2000:]


@pytest.mark.parametrize('argv', [['--help'], ['train', '--help'], ['train', 'dcgan', 'mnist', '--out', 'x', '--lr', '-1'], ['smaple']], ids=' '.join)
def test_help_and_argument_errors_import_no_model(argv):
    "The parser is built from plain data (`genbook/assets/train_options.json`): answering `--help` or a typo imports neither torch nor fastai."
    code = ("import sys\nfrom genbook.cli import main\n"
            f"try: main({argv!r})\nexcept SystemExit as e: code = e.code\n"
            "print(sorted(m for m in ('torch', 'fastai') if m in sys.modules))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=process_env())
    assert r.stdout.strip().splitlines()[-1] == '[]', (r.stdout[-500:], r.stderr[-500:])
