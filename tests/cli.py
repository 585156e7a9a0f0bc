"Run the `genbook` command line as a user would: in this process (fast), or in a subprocess where the process itself is the point."
import io
import json
import os
import signal
import subprocess
import sys
import traceback
import warnings
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import torch

from genbook.cli import main
from genbook.core import rng_state, set_rng_state

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('GENBOOK_DATA') or ROOT.parent/'shared'/'data')


def _env(cache=None, env=None) -> dict:
    "The variables a command runs with on top of this process's: offline, `cache`, then `env` (`None` unsets)."
    e = {'GENBOOK_OFFLINE': '1', **({'GENBOOK_CACHE': str(cache)} if cache is not None else {}), **(env or {})}
    return {k: (None if v is None else str(v)) for k, v in e.items()}


@contextmanager
def environ(changes: dict):
    "Set (or, for `None`, unset) environment variables for the duration, then put every one back."
    saved = {k: os.environ.get(k) for k in changes}
    try:
        for k, v in changes.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v


@contextmanager
def isolated(threads=None):
    "Put back what a command may change in this process: warnings, torch threads, random generators, SIGINT, cwd."
    cwd, n, rng, sigint = os.getcwd(), torch.get_num_threads(), rng_state(), signal.getsignal(signal.SIGINT)
    try:
        with warnings.catch_warnings():
            if threads: torch.set_num_threads(int(threads))
            yield
    finally:
        torch.set_num_threads(n)
        set_rng_state(rng)
        signal.signal(signal.SIGINT, sigint)
        os.chdir(cwd)


def genbook(*args, cache=None, env=None) -> subprocess.CompletedProcess:
    "Run `genbook ARGS` in this process, as the entry point would; returns what `subprocess.run` would (text stdout and stderr)."
    argv, e = [str(a) for a in args], _env(cache, env)
    out, err = io.StringIO(), io.StringIO()
    with environ(e), isolated(e.get('OMP_NUM_THREADS')), redirect_stdout(out), redirect_stderr(err):
        try: rc = main(argv)
        except SystemExit as x: rc = x.code if isinstance(x.code, int) else 0 if x.code is None else 1  # argparse: --help, --version, usage errors
        except Exception: traceback.print_exc(); rc = 1
    return subprocess.CompletedProcess(['genbook', *argv], rc, out.getvalue(), err.getvalue())


def process_env(cache=None, env=None) -> dict:
    "The environment of a command in a fresh process: this process's, with `_env`'s changes."
    e = {k: v for k, v in os.environ.items() if k != 'PYTEST_CURRENT_TEST'}
    for k, v in _env(cache, env).items():
        if v is None: e.pop(k, None)
        else: e[k] = v
    return e


def genbook_process(*args, cache=None, env=None, timeout=600, cmd=None) -> subprocess.CompletedProcess:
    "Run `genbook ARGS` in a fresh process (`python -m genbook.cli`, or `cmd`); returns the CompletedProcess."
    return subprocess.run([*(cmd or [sys.executable, '-m', 'genbook.cli']), *map(str, args)], capture_output=True, text=True,
                          env=process_env(cache, env), timeout=timeout)


def ok_json(r) -> dict:
    "The JSON a successful command printed (fails with its stderr otherwise)."
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def one_line_error(r, *contains):
    "Assert `r` failed with exit code 2 and exactly one line on stderr containing each of `contains` (beside the finished progress bars of the phases it went through)."
    assert r.returncode == 2, (r.returncode, r.stderr[-3000:])
    lines = [l for l in r.stderr.strip().splitlines() if '| 100.00% [' not in l]
    assert len(lines) == 1, r.stderr
    assert 'Traceback' not in r.stderr
    for c in contains: assert c in lines[0], (c, lines[0])
    return lines[0]
