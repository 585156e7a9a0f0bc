"Run the `genbook` command line as a user would, in a subprocess."
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('GENBOOK_DATA') or ROOT.parent/'shared'/'data')


def genbook(*args, cache=None, env=None, timeout=600):
    "Run `genbook ARGS`; returns the CompletedProcess (stdout and stderr as text)."
    e = {**os.environ, 'GENBOOK_OFFLINE': '1', **(env or {})}
    if cache is not None: e['GENBOOK_CACHE'] = str(cache)
    return subprocess.run([sys.executable, '-m', 'genbook.cli', *map(str, args)], capture_output=True, text=True,
                          env=e, timeout=timeout)


def ok_json(r) -> dict:
    "The JSON a successful command printed (fails with its stderr otherwise)."
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def one_line_error(r, *contains):
    "Assert `r` failed with exit code 2 and exactly one line on stderr containing each of `contains`."
    assert r.returncode == 2, (r.returncode, r.stderr[-3000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert 'Traceback' not in r.stderr
    for c in contains: assert c in lines[0], (c, lines[0])
    return lines[0]
