"The package's shape, read from its source: imports only go down (no cycle, even through an import inside a function), and no module or function grows past what a reader takes in at once."
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent/'genbook'
MODULES = sorted(p.stem for p in PKG.glob('*.py') if p.stem not in ('__init__', '__main__', '_modidx'))


def imported(mod:str)->set:
    "The genbook modules that `genbook/mod.py` imports anywhere in its source (inside functions too)."
    tree, out = ast.parse((PKG/f'{mod}.py').read_text()), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split('.')[1] for a in node.names if a.name.startswith('genbook.')}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level == 1 or base == 'genbook' or base.startswith('genbook.'):
                base = base.removeprefix('genbook').lstrip('.')
                if base: out.add(base.split('.')[0])
                else: out |= {a.name for a in node.names}   # `from . import dcgan`
    return out & set(MODULES) - {mod}


def find_cycle(graph:dict)->list:
    "A cycle of `graph` (module -> modules it imports) as a list of modules, or `[]`."
    state, stack = {}, []
    def visit(m):
        state[m] = 'open'; stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 'open': return stack[stack.index(n):] + [n]
            if n not in state and (c := visit(n)): return c
        state[m] = 'done'; stack.pop()
        return []
    for m in sorted(graph):
        if m not in state and (c := visit(m)): return c
    return []


def test_the_cycle_finder_finds_one():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set(), 'c': {'a', 'b'}}) == []


def test_an_import_inside_a_function_counts(tmp_path, monkeypatch):
    (tmp_path/'low.py').write_text('def f():\n    from .high import g\n    return g\n')
    (tmp_path/'high.py').write_text('from genbook.low import f\nfrom . import other\n')
    monkeypatch.setattr(__import__(__name__), 'PKG', tmp_path)
    monkeypatch.setattr(__import__(__name__), 'MODULES', ['high', 'low', 'other'])
    assert imported('low') == {'high'} and imported('high') == {'low', 'other'}


def test_no_import_cycle():
    graph = {m: imported(m) for m in MODULES}
    assert find_cycle(graph) == [], ' -> '.join(find_cycle(graph))


@pytest.mark.parametrize('mod', MODULES)
def test_module_and_function_sizes(mod):
    src = (PKG/f'{mod}.py').read_text()
    assert len(src.splitlines()) <= 440, f'{mod}.py has {len(src.splitlines())} lines: split it by job'
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(ast.parse(src))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 55 and n.name != 'build_parser']
    assert not long, f'functions over 55 lines in {mod}.py: {long}'
