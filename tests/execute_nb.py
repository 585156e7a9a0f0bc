"""Run notebooks with their `#| slow` cells and keep the outputs: the measured tables and figures of the docs.

    python tests/execute_nb.py nbs/02_dcgan.ipynb [more notebooks]

`nbdev-test --flags slow` runs the same cells as a test but keeps nothing. The slow cells read their run folders
from `$GENBOOK_RUNS` (default `runs/`) and train what is missing, which takes hours on a CPU. Cells flagged
`notest` or `cuda` are left as they are. Run `nbdev-clean` afterwards.
"""
import base64
import io
import re
import sys
from pathlib import Path

from PIL import Image

from execnb.shell import CaptureShell
from fastcore.nbio import read_nb, write_nb
from fastcore.xtras import working_directory

SKIP = {'notest', 'cuda'}
MAX_PNG = 200_000   # bytes a figure may keep in a notebook
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


def _small_png(b64: str) -> str:
    "A PNG output over `MAX_PNG` bytes, redrawn with a 256-colour palette when that is smaller."
    raw = base64.b64decode(b64)
    if len(raw) <= MAX_PNG: return b64
    buf = io.BytesIO()
    Image.open(io.BytesIO(raw)).convert('RGB').quantize(256).save(buf, format='PNG', optimize=True)
    return base64.b64encode(buf.getvalue()).decode() if buf.tell() < len(raw) else b64


def execute(path) -> None:
    "Execute every cell of the notebook at `path` but the skipped ones and write the outputs back."
    path = Path(path).resolve()
    nb = read_nb(path)
    sh = CaptureShell(path)
    sh.run_cell('%matplotlib inline')   # figures are captured only with the inline backend
    with working_directory(path.parent): sh.run_all(nb, exc_stop=True, preproc=_skip)
    for cell in nb.cells:
        for out in cell.get('outputs', []):
            if 'image/png' in out.get('data', {}): out['data']['image/png'] = _small_png(out['data']['image/png'])
    write_nb(nb, path)


if __name__ == '__main__':
    if len(sys.argv) < 2: sys.exit(__doc__)
    for p in sys.argv[1:]:
        print(f'executing {p}', flush=True)
        execute(p)
