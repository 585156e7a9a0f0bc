"""Resident memory of a long VAE run: genbook's learner with every run callback against a plain PyTorch loop.

Each path trains the MNIST VAE (latent 50, batch 64, Adam 1e-3) for `--steps` steps in a fresh process and
reads its resident memory (RSS) every `--every` steps. What matters for a run of hundreds of epochs is the
growth per step once the process has settled (after the first epoch, whose end scores the test digits and
writes a checkpoint and a sample grid for the first time), so the table reports the RSS at the first reading past
`--settle` steps and at the end, the growth per step between them, and the final RSS as a ratio of the plain
loop's. A third path puts
fastai's own `Recorder` back (it keeps every step's smoothed loss and learning rate) to show what
`genbook.learner.EpochRecorder` removes. By default no test digits are scored at the ends of epochs: the large
buffers of that scoring leave holes in the heap that the small tensors fill for a while, which hides the growth in a
short run (`--score` puts it back). The data are the embedded 6,000 digits ten times over, so one epoch is
as long as full MNIST's and no download is needed.

    python bench/bench_memory.py --steps 6000 --threads 1 --out bench/results/memory_cpu.md
"""
import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

PATHS = ('genbook', 'fastai_recorder', 'plain')


def _rss_mib()->float:
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * 4096 / 2**20


def run(path:str, steps:int, every:int, threads:int, score:bool=False)->list:
    "Train along `path` for `steps` steps; the (step, RSS in MiB) readings."
    import torch
    from fastai.callback.core import Callback
    from fastai.learner import Recorder
    from genbook.core import set_seed
    from genbook.data import ImageData, mnist_sample
    from genbook.loaders import TensorDL, image_dls
    from genbook.run import Run
    from genbook.fit import fit_run
    from genbook.vae import VAE, VAELoss, sample_images
    from genbook.vae_train import MODEL as VAE_MODEL, vae_learner, vae_stats
    torch.set_num_threads(threads)
    d = mnist_sample()
    data = ImageData('mnist', d.train.repeat(10, 1, 1, 1), d.test)
    c = VAE_MODEL.preset('mnist', latent=50, bs=64, lr=1e-3)
    set_seed(0)
    model, log = VAE(c), []
    if path == 'plain':
        opt, lf = torch.optim.Adam(model.parameters(), lr=c.lr), VAELoss(model)
        dl, i = TensorDL(data.train, bs=c.bs, scale=c.scale, shuffle=True, drop_last=True, seed=0), 0
        while i < steps:
            for (xb,) in dl:
                loss = lf(model(xb), xb)
                opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
                i += 1
                if i % every == 0: log.append((i, round(_rss_mib(), 1)))
                if i >= steps: break
        return log

    class _Rss(Callback):
        order = 85  # before `StopAt` ends the fit
        def after_batch(self):
            if self.training and self.learn.train_iter % every == 0: log.append((self.learn.train_iter, round(_rss_mib(), 1)))

    learn = vae_learner(c, image_dls(data, c.bs, scale=c.scale, target='self', seed=0), model, data.test if score else None)
    if path == 'fastai_recorder': learn.remove_cb(learn.recorder); learn.add_cb(Recorder())
    learn.add_cb(_Rss())
    with tempfile.TemporaryDirectory() as tmp:
        fit_run(learn, Run(Path(tmp)/'run').start(dict(model='vae')), 10**6, vae_stats(c), sample_images, max_steps=steps, show=False)
    return log


def table(res:dict, settle:int)->list:
    "Markdown rows from each path's (step, RSS) readings."
    rows = []
    for path, log in res.items():
        (s0, m0), (s1, m1) = next(r for r in log if r[0] >= settle), log[-1]
        ratio = f"{m1 / res['plain'][-1][1]:.3f}" if 'plain' in res else '–'
        rows.append(f"| {path} | {m0:.0f} (step {s0}) | {m1:.0f} (step {s1}) | {(m1 - m0) * 1024 / (s1 - s0):.2f} | {ratio} |")
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=6000)
    p.add_argument('--every', type=int, default=500)
    p.add_argument('--settle', type=int, default=1000, help='growth is measured from the first reading at or after this step (past the first epoch)')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--paths', default=','.join(PATHS))
    p.add_argument('--score', action='store_true', help="score the test digits after every epoch, as a real run does")
    p.add_argument('--out', default=None, help='write a markdown table here')
    p.add_argument('--child', default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(run(a.child, a.steps, a.every, a.threads, a.score))); return
    res = {}
    for path in a.paths.split(','):
        r = subprocess.run([sys.executable, __file__, '--child', path, '--steps', str(a.steps), '--every', str(a.every), '--threads', str(a.threads)] + ['--score'] * a.score,
                           capture_output=True, text=True)
        if r.returncode: raise RuntimeError(r.stderr[-2000:])
        res[path] = json.loads(r.stdout.strip().splitlines()[-1])
        print(path, res[path], flush=True)
    rows = table(res, a.settle)
    if a.out:
        import torch
        head = (f"Device: cpu ({platform.processor() or platform.machine()}), torch {torch.__version__}, {a.threads} thread(s); "
                f"MNIST VAE latent 50, batch 64, {a.steps} steps, {'with' if a.score else 'without'} the test digits scored after every epoch.\n\n"
                "| path | RSS once settled (MiB) | RSS at the end (MiB) | growth (KiB per step) | end RSS / plain loop's |\n|---|---|---|---|---|\n")
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(head + '\n'.join(rows) + '\n')


if __name__ == '__main__': main()
