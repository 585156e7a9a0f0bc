"genbook drives fastai through its public API: it imports, calls and overrides no private name of fastai, fastcore or fastprogress."
import ast
import inspect
from pathlib import Path

import fastai.callback.core, fastai.callback.progress, fastai.learner

ROOT = Path(__file__).resolve().parents[1]
FAST = ('fastai', 'fastcore', 'fastprogress')


def _private_members()->set:
    "The private (single-underscore) attributes of fastai's `Learner` and of its callbacks."
    classes = [fastai.learner.Learner, fastai.learner.Recorder, fastai.callback.progress.ProgressCallback, fastai.callback.core.Callback,
               fastai.callback.core.TrainEvalCallback]
    return {n for c in classes for n, _ in inspect.getmembers(c) if n.startswith('_') and not n.startswith('__')}


def _uses(tree, private:set)->list:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or '').split('.')[0] in FAST:
            found += [f"imports {node.module}.{a.name}" for a in node.names if a.name.startswith('_')]
        elif isinstance(node, ast.Attribute) and node.attr in private:
            found.append(f"uses .{node.attr} (line {node.lineno})")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in private:
            found.append(f"overrides {node.name} (line {node.lineno})")
    return found


def test_the_check_sees_private_use():
    bad = ast.parse("from fastai.callback.core import _inner_loop\nclass L(Learner):\n    def _do_fit(self): self.recorder._train_mets")
    assert len(_uses(bad, _private_members())) == 3


def test_genbook_uses_public_fastai_only():
    private = _private_members()
    assert {'_do_fit', '_train_mets', '_with_events'} <= private
    bad = {f.name: u for f in sorted((ROOT/'genbook').glob('*.py')) if (u := _uses(ast.parse(f.read_text()), private))}
    assert not bad, bad
