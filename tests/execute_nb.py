"""Run notebooks with their `#| slow` cells and keep the outputs: the measured tables and figures of the docs.

    python tests/execute_nb.py nbs/02_dcgan.ipynb [more notebooks]

`nbdev-test --flags slow` runs the same cells as a test but keeps nothing. The slow cells read their run folders
from `$GENBOOK_RUNS` (default `runs/`) and train what is missing, which takes hours on a CPU. Cells flagged
`notest` or `cuda` are left as they are. Run `nbdev-clean` afterwards.
"""
import re
import sys
from pathlib import Path

from execnb.shell import CaptureShell
from fastcore.nbio import read_nb, write_nb
from fastcore.xtras import working_directory

SKIP = {'notest', 'cuda'}
_flag_re = re.compile(r'^\s*#\|\s*([\w-]+)\s*$')


def _skip(cell) -> bool:
    "Leave out markdown and cells flagged `notest` or `cuda`."
    if cell.cell_type != 'code': return True
    flags = set()
    for line in cell.source.splitlines():
        m = _flag_re.match(line)
        if m: flags.add(m.group(1))
        elif not line.startswith('#|'): break
    return bool(flags & SKIP)


def execute(path) -> None:
    "Execute every cell of the notebook at `path` but the skipped ones and write the outputs back."
    path = Path(path).resolve()
    nb = read_nb(path)
    sh = CaptureShell(path)
    sh.run_cell('%matplotlib inline')   # figures are captured only with the inline backend
    with working_directory(path.parent): sh.run_all(nb, exc_stop=True, preproc=_skip)
    write_nb(nb, path)


if __name__ == '__main__':
    if len(sys.argv) < 2: sys.exit(__doc__)
    for p in sys.argv[1:]:
        print(f'executing {p}', flush=True)
        execute(p)
