"""Speed of genbook's VAE training step (fastai `GenLearner` + the run callbacks) against a plain PyTorch loop.

Both paths train the same model from the same weights, with the same optimizer (PyTorch's Adam) on the same
batches (`TensorDL`, dynamic binarisation for MNIST), in one process. The repeats alternate the order
(genbook, plain; then plain, genbook; ...) so that a machine that speeds up or slows down during the run
favours neither side, and each repeat gives one ratio; the table reports their median. A third path, the
learner alone (no run callbacks: no history, checkpoint, NaN guard or sample grid), splits genbook's cost
between fastai's loop and the run's callbacks. Untimed warm-up rounds of every path come first, so that no
repeat pays for a cold start (first-call allocations, the data's first pass, lazy imports).
Usage: python bench/bench_vae.py [--steps N] [--repeats R] [--warmup W] [--threads T] [--device cpu] [--out bench/results/vae_cpu.md]
"""
import argparse
import copy
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from fastai.callback.core import Callback

from genbook.core import get_device, set_seed
from genbook.data import ImageData, mnist_sample
from genbook.loaders import TensorDL, image_dls
from genbook.run import Run
from genbook.callbacks import StopAt
from genbook.fit import fit_run
from genbook.vae import VAE, VAELoss, sample_images
from genbook.vae_train import MODEL as VAE_MODEL, vae_learner, vae_stats

CASES = {'mnist_bs32': dict(dataset='mnist', latent=2, bs=32), 'anime_bs64': dict(dataset='anime', latent=128, bs=64)}


def _data(dataset):
    if dataset == 'mnist':  # the embedded 6,000 digits three times over: the timed steps stay inside one epoch
        d = mnist_sample()
        return ImageData('mnist', d.train.repeat(3, 1, 1, 1), d.test)
    g = torch.Generator().manual_seed(0)
    return ImageData('anime', torch.randint(0, 256, (2560, 3, 64, 64), dtype=torch.uint8, generator=g),
                     torch.randint(0, 256, (64, 3, 64, 64), dtype=torch.uint8, generator=g))


class _Clock(Callback):
    "Time training steps `warm` to `warm + n`."
    order = 85  # after the run callbacks, before `StopAt` ends the fit
    def __init__(self, warm, n): self.warm, self.n, self.t = warm, n, {}
    def after_batch(self):
        if self.training and self.learn.train_iter in (self.warm, self.warm + self.n):
            if self.dls.device.type == 'cuda': torch.cuda.synchronize()
            self.t[self.learn.train_iter] = (time.perf_counter(), time.process_time())


def _learner_steps(case, model0, data, dev, warm, n, run_cbs):
    "Steps per second (wall clock, CPU time) of the learner `train_vae` builds, inside `fit_run` (`run_cbs`) or by `learn.fit` alone."
    c = VAE_MODEL.preset(case['dataset'], latent=case['latent'], bs=case['bs'])
    model = copy.deepcopy(model0).to(dev)
    dls = image_dls(data, c.bs, scale=c.scale, target='self', seed=0, device=dev)
    clock = _Clock(warm, n)
    learn = vae_learner(c, dls, model)
    learn.add_cb(clock)
    if run_cbs:
        with tempfile.TemporaryDirectory() as d:
            fit_run(learn, Run(Path(d)/'run').start(dict(model='vae')), 1, vae_stats(c), sample_images, max_steps=warm + n)
    else:
        learn.add_cb(StopAt(warm + n))
        with learn.no_bar(), learn.no_logging(): learn.fit(1)
    (w0, c0), (w1, c1) = clock.t[warm], clock.t[warm + n]
    return n / (w1 - w0), n / (c1 - c0)


def genbook_steps(case, model0, data, dev, warm, n):
    "The learner with every callback `fit_run` adds."
    return _learner_steps(case, model0, data, dev, warm, n, run_cbs=True)


def learner_steps(case, model0, data, dev, warm, n):
    "The same learner run by `learn.fit` alone: fastai's loop without the run callbacks."
    return _learner_steps(case, model0, data, dev, warm, n, run_cbs=False)


def plain_steps(case, model0, data, dev, warm, n):
    "Steps per second (wall clock, CPU time) of a plain PyTorch loop: forward, negative ELBO, backward, Adam step."
    c = VAE_MODEL.preset(case['dataset'], latent=case['latent'], bs=case['bs'])
    model = copy.deepcopy(model0).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=c.lr)
    lf = VAELoss(model)
    dl = TensorDL(data.train, bs=c.bs, scale=c.scale, shuffle=True, drop_last=True, seed=0, device=dev)
    i, t0 = 0, None
    while True:
        for (xb,) in dl:
            loss = lf(model(xb), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            i += 1
            if i in (warm, warm + n):
                if dev.type == 'cuda': torch.cuda.synchronize()
                if i == warm: t0 = (time.perf_counter(), time.process_time())
                else: return n / (time.perf_counter() - t0[0]), n / (time.process_time() - t0[1])


def _rss_mib()->float:
    "Resident memory of this process now, in MiB."
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * resource.getpagesize() / 2**20

def peak_mem(case, path, dev, warm, n, threads):
    "Memory (MiB) one path adds while training, in a fresh process: peak RSS minus RSS before (CPU), or peak allocated (CUDA)."
    code = (f"import torch, resource, json; torch.set_num_threads({threads}); import bench_vae as b; "
            f"from genbook.core import set_seed; set_seed(0); c = {case!r}; "
            f"m = b.VAE(b.VAE_MODEL.preset(c['dataset'], latent=c['latent'], bs=c['bs'])); d = b._data(c['dataset']); dev = torch.device({str(dev)!r}); "
            f"r0 = b._rss_mib(); b.{path}_steps(c, m, d, dev, {warm}, {n}); "
            f"print(json.dumps(torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - r0))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=Path(__file__).parent)
    if r.returncode: raise RuntimeError(r.stderr[-2000:])
    return float(r.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=0, help='timed steps per repeat (default: 500 MNIST, 20 anime)')
    p.add_argument('--repeats', type=int, default=7)
    p.add_argument('--warmup', type=int, default=1, help='untimed rounds of every path before the timed repeats')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default='cpu')
    p.add_argument('--cases', default=','.join(CASES))
    p.add_argument('--out', default=None, help='write a markdown table here')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    dev = get_device(a.device)
    rows = []
    for name in a.cases.split(','):
        case = CASES[name]
        n = a.steps or (500 if case['dataset'] == 'mnist' else 20)
        warm = 10 if case['dataset'] == 'mnist' else 3
        set_seed(0)
        model0 = VAE(VAE_MODEL.preset(case['dataset'], latent=case['latent'], bs=case['bs']))
        data = _data(case['dataset'])
        for _ in range(a.warmup):
            for fn in (genbook_steps, plain_steps, learner_steps): fn(case, model0, data, dev, warm, n)
        g, q, f = [], [], []
        for r in range(a.repeats):
            pair = [('g', genbook_steps), ('q', plain_steps)]
            for key, fn in (pair if r % 2 == 0 else pair[::-1]) + [('f', learner_steps)]:
                dict(g=g, q=q, f=f)[key].append(fn(case, model0, data, dev, warm, n))
        med = lambda v, i=0: statistics.median(x[i] for x in v)
        row = dict(case=name, steps=n, repeats=a.repeats, warmup=a.warmup, genbook=med(g), plain=med(q), learner=med(f),
                   genbook_cpu=med(g, 1), plain_cpu=med(q, 1),
                   pair_ratios=[round(x[0] / y[0], 3) for x, y in zip(g, q)],
                   genbook_all=[round(v[0], 2) for v in g], plain_all=[round(v[0], 2) for v in q])
        row['ratio'] = statistics.median(x[0] / y[0] for x, y in zip(g, q))
        row['ratio_cpu'] = statistics.median(x[1] / y[1] for x, y in zip(g, q))
        row['ratio_learner'] = statistics.median(x[0] / y[0] for x, y in zip(f, q))
        row['mem_genbook'] = peak_mem(case, 'genbook', dev, warm, min(n, 20), a.threads)
        row['mem_plain'] = peak_mem(case, 'plain', dev, warm, min(n, 20), a.threads)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if a.out:
        mem = 'peak allocated (MiB)' if dev.type == 'cuda' else 'peak RSS growth while training (MiB)'
        lines = [f"| case | timed steps x repeats | genbook steps/s | plain steps/s | ratio (median of the repeats' ratios) | ratio (CPU time) | learner alone / plain | {mem} genbook / plain | each repeat's ratio |",
                 '|---|---|---|---|---|---|---|---|---|']
        for r in rows:
            lines.append(f"| {r['case']} | {r['steps']} x {r['repeats']} | {r['genbook']:.2f} | {r['plain']:.2f} | {r['ratio']:.3f} | "
                         f"{r['ratio_cpu']:.3f} | {r['ratio_learner']:.3f} | "
                         f"{r['mem_genbook']:.0f} / {r['mem_plain']:.0f} | {r['pair_ratios']} |")
        head = (f"Device: {dev} ({platform.processor() or platform.machine()}), torch {torch.__version__}, {a.threads} thread(s).\n")
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(head + '\n' + '\n'.join(lines) + '\n')


if __name__ == '__main__': main()
