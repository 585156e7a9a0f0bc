"""What a training step costs beside the model, for every model.

No model reads a value back from the device inside an epoch: each read (`item`, `bool`, `float`, `int`, `tolist`, a format, a copy to the CPU) stops a GPU until its queue is done. The reads of every training step of every model are counted during a fit; at most one in ten steps may read (the progress bar's comment every 50 steps, the NaN guard every 200).

And no look-up on a run's callbacks fails through fastai's `GetAttr` during a step: for an event a callback does not handle, `GetAttr` would try the learner and then its model before it raised; genbook's callbacks fail it at once (`genbook.learner.QuickEvents`), and `GenLearner` offers an event only to the callbacks that handle it, which it asks once."""
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from fastai.callback.core import Callback
from fastai.learner import Learner

from genbook.data import mnist_sample
from genbook.fit import train_run
from genbook.learner import GenLearner, failed_lookups
from genbook.models import MODELS

READS = ('item', '__bool__', '__float__', '__int__', '__index__', 'tolist', '__format__', 'cpu', 'numpy')   # `cpu`: a no-op here, a copy that waits for the device on a GPU
OPTIM = str(Path(torch.optim.__file__).parent)   # Adam's step counters live on the host on every device (capturable=False): reading them reads no device


class CountReads(Callback):
    "Count the tensor reads made while the training batches of an epoch run, from the first `before_batch` to the last `after_batch`."
    order = -100
    def __init__(self): self.n, self.on, self.where = 0, False, {}
    def before_batch(self):
        if self.training: self.on = True
    def after_epoch(self): self.on = False
    def after_cancel_fit(self): self.on = False
    def count(self, name):
        if not self.on: return
        f = sys._getframe(2)
        if f.f_code.co_filename.startswith(OPTIM): return
        self.n += 1
        k = f'{Path(f.f_code.co_filename).name}:{f.f_lineno} {name}'
        self.where[k] = self.where.get(k, 0) + 1


@pytest.fixture
def counting(monkeypatch):
    cb = CountReads()
    for name in READS:
        orig = getattr(torch.Tensor, name)
        def read(self, *a, _orig=orig, _name=name, **kw):
            cb.count(_name)
            return _orig(self, *a, **kw)
        monkeypatch.setattr(torch.Tensor, name, read)
    return cb


class Window:
    "The failed look-ups of `seen` made inside training batches, from a batch's first event to its last (this file's callbacks left out): `kept`."
    def __init__(self, seen:list): self.seen, self.kept, self.start = seen, [], None
    def open(self): self.start = len(self.seen)
    def close(self):
        if self.start is None: return
        self.kept += [f'{c}.{k}' for c, k in self.seen[self.start:] if c not in ('StepWindow', 'CountReads')]
        self.start = None
    def callbacks(self)->list: return [StepWindow(self, True), StepWindow(self, False)]


class StepWindow(Callback):
    "Open `window` at a training batch's first event (`first`) or close it after its last (or when the fit stops)."
    def __init__(self, window:Window, first:bool): self.window, self.first, self.order = window, first, (-100 if first else 1000)
    def before_batch(self):
        if self.first and self.learn.training: self.window.open()
    def after_batch(self):
        if not self.first: self.window.close()
    def after_cancel_fit(self):   # a fit stopped in a batch's `after_batch` (`max_steps`): that batch counts too
        if not self.first: self.window.close()


@pytest.fixture
def lookups():
    "The run's failed look-ups inside training batches (`genbook.learner.failed_lookups`)."
    with failed_lookups() as seen: yield Window(seen)


@pytest.mark.parametrize('name,settings', [(n, {}) for n in MODELS] + [('dcgan', dict(ema=0.999, diffaugment='color,translation,cutout'))])
def test_a_training_step_reads_nothing_back(name, settings, counting, lookups, tmp_path):
    class Counted(type(MODELS[name])):
        def learner(self, *a, **kw):
            learn = super().learner(*a, **kw)
            learn.add_cbs([counting, *lookups.callbacks()])
            return learn
    data = mnist_sample()
    steps = 60
    m = train_run(Counted(), 'mnist', tmp_path/'run', max_steps=steps, bs=8, data=data, device='cpu', precision='fp32', show=True, **settings)
    assert m['steps'] == steps
    assert counting.n <= 0.1 * steps, (counting.n, counting.where)
    assert lookups.kept == [], Counter(lookups.kept)


class _ReadsEveryStep(Callback):
    def after_batch(self): self.seen = float(self.learn.stats['loss'])


def test_the_count_sees_a_read_at_every_step(counting, tmp_path):
    "The control: a callback that reads the loss after every batch is counted at every step."
    class Reading(type(MODELS['vae'])):
        def learner(self, *a, **kw):
            learn = super().learner(*a, **kw)
            learn.add_cbs([counting, _ReadsEveryStep()])
            return learn
    train_run(Reading(), 'mnist', tmp_path/'run', max_steps=30, bs=8, data=mnist_sample(), device='cpu', precision='fp32', show=False)
    assert counting.n >= 30, (counting.n, counting.where)


class _FastaiKind(Callback):
    def after_batch(self): pass


class _FastaiDispatch(GenLearner):
    "A `GenLearner` that offers every event to every callback, as fastai's `Learner` does."
    __call__ = Learner.__call__


@pytest.mark.parametrize('dispatch,fails', [('fastai', 10), ('genbook', 1)])
def test_the_lookup_count_sees_a_fastai_callback(dispatch, fails, lookups, tmp_path):
    "The control: a callback of fastai's own kind fails the look-up of every event it lacks, at every step of fastai's dispatch; `GenLearner` asks it once."
    class Counted(type(MODELS['vae'])):
        def learner(self, *a, **kw):
            learn = super().learner(*a, **kw)
            if dispatch == 'fastai': learn.__class__ = _FastaiDispatch
            learn.add_cbs([*lookups.callbacks(), _FastaiKind()])
            return learn
    train_run(Counted(), 'mnist', tmp_path/'run', max_steps=10, bs=8, data=mnist_sample(), device='cpu', precision='fp32', show=False)
    n = Counter(lookups.kept)
    assert all(n[f'_FastaiKind.{e}'] == fails for e in ('after_pred', 'after_loss', 'before_backward', 'after_backward', 'after_step')), n   # (`before_batch`'s list is made before the window opens)
