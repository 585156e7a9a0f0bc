"""Speed of genbook's DCGAN training step, driven by the fastai Learner with all of `fit_run`'s callbacks,
against a plain PyTorch loop over the same networks, batches and optimizers. Both run in this process,
interleaved round by round with the same threads; peak memory is measured in a child process per path.

    python bench/bench_dcgan.py                      # MNIST bs 256 and anime bs 128 on CPU
    python bench/bench_dcgan.py --dataset mnist --rounds 5 --steps 5
"""
import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from fastai.callback.core import Callback, CancelBatchException, CancelValidException

from genbook.core import get_device, set_seed
from genbook.data import ImageData, mnist_sample
from genbook.loaders import image_dls
from genbook.dcgan import PRESETS, DCGAN, DCGANTrainer, STATS, dcgan_learner, make_optimizers, sample_images
from genbook.run import Run
from genbook.fit import fit_run
from genbook.learner import GenLearner

OUT = Path(__file__).parent/'results'


def bench_data(dataset:str, n:int)->ImageData:
    "The embedded MNIST sample, or random 64x64 RGB images (speed does not depend on the pixels)."
    if dataset == 'mnist': return mnist_sample()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=g)
    return ImageData('anime', x, x[:256], source='random', path='')


class _Clock(Callback):
    "Time stamp after every training batch (before `StopAt` may end the fit)."
    order = 85
    def before_fit(self): self.t = []
    def after_batch(self): self.t.append(time.perf_counter())


def genbook_steps(dataset, data, bs, n, device, seed=0)->list:
    "Step times of `n` steps of genbook's `fit_run` (as `train_dcgan` builds it)."
    c = PRESETS[dataset]
    dls = image_dls(data, bs, scale='gan', seed=seed, device=device)
    set_seed(seed)
    model = DCGAN(c).to(device)
    clock = _Clock()
    learn = dcgan_learner(c, dls, model)
    learn.add_cb(clock)
    with tempfile.TemporaryDirectory() as d:
        run = Run(Path(d)/'run').start(dict(model='dcgan'))
        fit_run(learn, run, epochs=1, stats=STATS, sample_fn=sample_images, max_steps=n, show=False)
    return clock.t


def _plain_loop(model, c, dl, n:int)->list:
    "The PyTorch DCGAN tutorial's loop over `n` batches of `dl`; returns a time stamp per step."
    G, D = model.G, model.D
    opt_d = torch.optim.Adam(D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps)
    opt_g = torch.optim.Adam(G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps)
    bce = F.binary_cross_entropy_with_logits
    G.train(); D.train()
    t = []
    for i, (x,) in enumerate(dl):
        if i == n: break
        z = torch.randn(x.shape[0], c.nz, device=x.device)
        fake = G(z)
        real_logit, fake_logit = D(x), D(fake.detach())
        loss_d = bce(real_logit, torch.ones_like(real_logit)) + bce(fake_logit, torch.zeros_like(fake_logit))
        opt_d.zero_grad(); loss_d.backward(); opt_d.step()
        D.requires_grad_(False)
        out = D(fake)
        loss_g = bce(out, torch.ones_like(out))
        opt_g.zero_grad(); loss_g.backward(); opt_g.step()
        D.requires_grad_(True)
        loss_d.item(), loss_g.item()
        t.append(time.perf_counter())
    return t


def plain_steps(dataset, data, bs, n, device, seed=0)->list:
    "Step times of `n` steps of a plain PyTorch loop over the same nets, batches and optimizers."
    c = PRESETS[dataset]
    dl = image_dls(data, bs, scale='gan', seed=seed, device=device).train
    set_seed(seed)
    return _plain_loop(DCGAN(c).to(device), c, dl, n)


PATHS = dict(genbook=genbook_steps, plain=plain_steps)


def same_training(device)->bool:
    "Both paths, from the same seed, end with the same weights (checked on MNIST, batch 8, 3 steps)."
    data, c, res = mnist_sample(), PRESETS['mnist'], []
    for path in ('genbook', 'plain'):
        dls = image_dls(data, 8, scale='gan', seed=0, device=device)
        set_seed(0)
        model = DCGAN(c).to(device)
        if path == 'plain': _plain_loop(model, c, dls.train, 3)
        else:
            learn = dcgan_learner(c, dls, model)
            with tempfile.TemporaryDirectory() as d:
                fit_run(learn, Run(Path(d)/'run').start(dict(model='dcgan')), 1, STATS, max_steps=3, show=False)
        res.append({k: v.detach().clone() for k, v in model.state_dict().items()})
    return all(torch.equal(res[0][k], res[1][k]) for k in res[0])


class _NoStep(Callback):
    "Fill `learn.stats` and skip the batch: what is left of a step is the machinery's own work."
    order = DCGANTrainer.order
    def before_validate(self): raise CancelValidException
    def before_batch(self):
        z = torch.zeros((), device=self.xb[0].device)
        self.learn.stats = dict(loss_D=z, loss_G=z, D_x=z, D_G_z=z)
        raise CancelBatchException


def machinery_ms(bs:int, device, n:int=41)->dict:
    "Median milliseconds per step of `fit_run` with the networks' work left out, and of the loader alone."
    dls = image_dls(mnist_sample(), bs, scale='gan', seed=0, device=device)
    model, clock = DCGAN(PRESETS['mnist']).to(device), _Clock()
    learn = GenLearner(dls, model, make_optimizers(model, PRESETS['mnist']), cbs=[_NoStep(), clock])
    with tempfile.TemporaryDirectory() as d:
        fit_run(learn, Run(Path(d)/'run').start(dict(model='dcgan')), 1, STATS, max_steps=n, show=False)
    t = [time.perf_counter()]
    for i, _ in enumerate(dls.train):
        t.append(time.perf_counter())
        if i == n: break
    med = lambda ts: 1000 * sorted(b - a for a, b in zip(ts[:-1], ts[1:]))[(len(ts) - 1)//2]
    return dict(bs=bs, fit_run_ms=med(clock.t), loader_ms=med(t))


def peak_memory(path, dataset, bs, device)->float:
    "Peak resident memory (MB) of a fresh child process that makes 2 steps of `path` (imports included)."
    code = (f"import resource, sys, torch; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_dcgan as b; "
            f"torch.set_num_threads({torch.get_num_threads()}); "
            f"data = b.bench_data({dataset!r}, {bs}*3); "
            f"b.PATHS[{path!r}]({dataset!r}, data, {bs}, 2, {str(device)!r}); "
            f"print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    if r.returncode: raise RuntimeError(r.stderr[-2000:])
    return float(r.stdout.strip().splitlines()[-1])


def bench(dataset, bs, rounds, steps, device)->dict:
    "Interleave `rounds` of genbook and plain runs of `steps` timed steps (after one warm-up step each)."
    # On a shared machine other processes slow some rounds down: as `timeit` does, a path's speed is taken
    # from its best round (the round's median step); the mean over all steps is kept too.
    data = bench_data(dataset, bs * (steps + 2))
    rnds = dict(genbook=[], plain=[])
    for r in range(rounds):
        for path in (('genbook', 'plain') if r % 2 == 0 else ('plain', 'genbook')):
            t = PATHS[path](dataset, data, bs, steps + 1, device)
            rnds[path].append([b - a for a, b in zip(t[:-1], t[1:])])
    best = {k: 1 / min(sorted(v)[len(v)//2] for v in rs) for k, rs in rnds.items()}
    mean = {k: sum(map(len, rs)) / sum(map(sum, rs)) for k, rs in rnds.items()}
    return dict(dataset=dataset, bs=bs, rounds=rounds, steps=steps, genbook_steps_s=best['genbook'], plain_steps_s=best['plain'],
                ratio=best['genbook'] / best['plain'], mean_ratio=mean['genbook'] / mean['plain'], step_seconds=rnds,
                peak_mb={p: peak_memory(p, dataset, bs, device) for p in PATHS})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', choices=['mnist', 'anime', 'both'], default='both')
    p.add_argument('--rounds', type=int, default=3, help='interleaved rounds of each path')
    p.add_argument('--steps', type=int, default=3, help='timed steps per round (MNIST)')
    p.add_argument('--anime-steps', type=int, default=1, help='timed steps per round (anime)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--bs', type=int, default=None, help="batch size (default: the preset's)")
    p.add_argument('--append', action='store_true', help='add the rows to those already in --out')
    p.add_argument('--out', default=str(OUT/'dcgan_cpu'))
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev = get_device(a.device)
    out = Path(a.out)
    rows = json.loads(out.with_suffix('.json').read_text())['rows'] if a.append and out.with_suffix('.json').exists() else []
    for ds in (['mnist', 'anime'] if a.dataset == 'both' else [a.dataset]):
        rows.append(bench(ds, a.bs or PRESETS[ds].bs, a.rounds, a.steps if ds == 'mnist' else a.anime_steps, dev))
        print(json.dumps(rows[-1]), flush=True)
    info = dict(device=str(dev), threads=torch.get_num_threads(), torch=torch.__version__, python=platform.python_version(),
                cpu=platform.processor() or platform.machine(), same_training=same_training(dev), rows=rows,
                machinery=machinery_ms(a.bs or 256, dev))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix('.json').write_text(json.dumps(info, indent=2) + '\n')
    lines = [f"# DCGAN training step: genbook (fastai Learner + run callbacks) vs a plain PyTorch loop\n",
             f"device {info['device']}, {info['threads']} threads, torch {info['torch']}, python {info['python']}; "
             f"rounds interleaved in one process; peak memory: peak RSS of a fresh process (imports included) making 2 steps.",
             f"Same weights after 3 steps from the same seed (MNIST, bs 8): {info['same_training']}.\n",
             "Speeds are the best round's median step (as `timeit` takes the best run); `mean ratio` uses all timed steps.\n",
             "| data | bs | rounds x timed steps | genbook steps/s | plain steps/s | ratio | mean ratio | peak MB genbook | peak MB plain |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['bs']} | {r['rounds']} x {r['steps']} | {r['genbook_steps_s']:.3f} | {r['plain_steps_s']:.3f} | "
                     f"{r['ratio']:.3f} | {r['mean_ratio']:.3f} | {r['peak_mb']['genbook']:.0f} | {r['peak_mb']['plain']:.0f} |")
    mc = info['machinery']
    lines.append(f"\nThe machinery alone (fastai's loop, genbook's callbacks, the loader; the networks' work left out), batch {mc['bs']}: "
                 f"{mc['fit_run_ms']:.1f} ms per step, of which the loader (which the plain loop uses too) {mc['loader_ms']:.1f} ms.")
    out.with_suffix('.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__': main()
