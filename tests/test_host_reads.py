"No model reads a value back from the device inside an epoch: each read (`item`, `bool`, `float`, `int`, `tolist`, a format, a copy to the CPU) stops a GPU until its queue is done. The reads of every training step of every model are counted during a fit; at most one in ten steps may read (the progress bar's comment every 50 steps, the NaN guard every 200)."
import sys
from pathlib import Path

import pytest
import torch
from fastai.callback.core import Callback

from genbook.data import mnist_sample
from genbook.fit import train_run
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


@pytest.mark.parametrize('name,settings', [(n, {}) for n in MODELS] + [('dcgan', dict(ema=0.999, diffaugment='color,translation,cutout'))])
def test_a_training_step_reads_nothing_back(name, settings, counting, tmp_path):
    class Counted(type(MODELS[name])):
        def learner(self, *a, **kw):
            learn = super().learner(*a, **kw)
            learn.add_cb(counting)
            return learn
    data = mnist_sample()
    steps = 60
    m = train_run(Counted(), 'mnist', tmp_path/'run', max_steps=steps, bs=8, data=data, device='cpu', precision='fp32', show=True, **settings)
    assert m['steps'] == steps
    assert counting.n <= 0.1 * steps, (counting.n, counting.where)


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
