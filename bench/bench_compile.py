"""Whether `torch.compile` speeds up a plain PyTorch training step of genbook's models on this device.

The same model (same first weights), optimizer (PyTorch's Adam) and batches, one training step after another, eager
and with the networks compiled by `torch.compile` (`--mode`, default PyTorch's), in one process. The repeats
alternate the order and each gives one ratio, compiled / eager steps per second; the table reports their median.
The compiled path's first steps (the compilation) are untimed warm-up, reported apart as `compile_s`.
Usage: python bench/bench_compile.py [--steps N] [--repeats R] [--threads T] [--device cpu] [--mode default] [--out FILE.md]
"""
import argparse
import copy
import json
import platform
import statistics
import time

import torch

from genbook.core import get_device, set_seed
from genbook.data import mnist_sample
from genbook.dcgan import DCGAN, d_loss, g_loss
from genbook.dcgan import MODEL as DCGAN_MODEL
from genbook.loaders import scale_batch
from genbook.vae import VAE, VAELoss
from genbook.vae_train import MODEL as VAE_MODEL

CASES = {'vae_mnist_bs32': dict(model='vae', bs=32), 'dcgan_mnist_bs256': dict(model='dcgan', bs=256)}


def _batches(bs:int, n:int, dev)->list:
    "`n` batches of the embedded digits, uint8 on `dev` (each step scales or binarises its own)."
    x = mnist_sample().train
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return [x[idx[(i * bs) % (len(x) - bs):][:bs]].to(dev) for i in range(n)]


def vae_step(model, fwd, opt, lf, xb):
    "One VAE step on uint8 digits: dynamic binarisation, forward (`fwd`: the model or its compiled form), negative ELBO, backward, Adam."
    x = torch.bernoulli(xb.float().div(255))
    loss = lf(fwd(x), x)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()


def dcgan_step(model, fwd, opts, _, xb):
    "One DCGAN step: D on real and generated, then G through the updated D (`fwd`: (G, D), eager or compiled)."
    G, D = fwd
    x = scale_batch(xb, 'gan')
    fake = G(torch.randn(len(x), model.nz, device=x.device))
    ld = d_loss(D(x), D(fake.detach()))
    opts[0].zero_grad(set_to_none=True); ld.backward(); opts[0].step()
    lg = g_loss(D(fake))
    opts[1].zero_grad(set_to_none=True); lg.backward(); opts[1].step()


def _path(case, model0, dev, compiled:bool, mode:str):
    "The step function and its arguments for one path."
    model = copy.deepcopy(model0).to(dev).train()
    wrap = (lambda m: torch.compile(m, mode=mode)) if compiled else (lambda m: m)
    if case['model'] == 'vae':
        return vae_step, (model, wrap(model), torch.optim.Adam(model.parameters(), lr=1e-4), VAELoss(model))
    adam = lambda m: torch.optim.Adam(m.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-7)
    return dcgan_step, (model, (wrap(model.G), wrap(model.D)), (adam(model.D), adam(model.G)), None)


def steps_per_s(step, args, batches, dev)->float:
    "Steps per second over `batches`."
    if dev.type == 'cuda': torch.cuda.synchronize()
    t0 = time.perf_counter()
    for xb in batches: step(*args, xb)
    if dev.type == 'cuda': torch.cuda.synchronize()
    return len(batches) / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--steps', type=int, default=0, help='timed steps per repeat (default: 300 VAE, 20 DCGAN)')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default='cpu')
    p.add_argument('--mode', default='default', help="torch.compile's mode (`reduce-overhead`: CUDA graphs on a GPU)")
    p.add_argument('--cases', default=','.join(CASES))
    p.add_argument('--out', default=None, help='write a markdown table here')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    dev, rows = get_device(a.device), []
    for name in a.cases.split(','):
        case = CASES[name]
        n = a.steps or (300 if case['model'] == 'vae' else 20)
        set_seed(0)
        model0 = VAE(VAE_MODEL.preset('mnist', latent=2)) if case['model'] == 'vae' else DCGAN(DCGAN_MODEL.preset('mnist'))
        batches = _batches(case['bs'], n, dev)
        eager, comp = _path(case, model0, dev, False, a.mode), _path(case, model0, dev, True, a.mode)
        t0 = time.perf_counter()
        steps_per_s(*comp, batches[:3], dev)   # compiles
        compile_s = time.perf_counter() - t0
        steps_per_s(*eager, batches[:3], dev)
        e, c = [], []
        for r in range(a.repeats):
            for key, path in ((('e', eager), ('c', comp)) if r % 2 == 0 else (('c', comp), ('e', eager))):
                dict(e=e, c=c)[key].append(steps_per_s(*path, batches, dev))
        row = dict(case=name, steps=n, repeats=a.repeats, mode=a.mode, eager=statistics.median(e), compiled=statistics.median(c),
                   ratio=statistics.median(y / x for x, y in zip(e, c)), pair_ratios=[round(y / x, 3) for x, y in zip(e, c)], compile_s=round(compile_s, 1))
        print(json.dumps(row), flush=True)
        rows.append(row)
    if a.out:
        head = (f"# torch.compile against eager: a plain training step\n\n`python bench/bench_compile.py --threads {a.threads} --repeats {a.repeats} --mode {a.mode}`. "
                f"Device: {dev} ({platform.machine()}), torch {torch.__version__}, {a.threads} thread(s).\n\n"
                "| case | timed steps x repeats | eager steps/s | compiled steps/s | compiled / eager (median) | each repeat's ratio | compile (s) |\n|---|---|---|---|---|---|---|\n")
        body = ''.join(f"| {r['case']} | {r['steps']} x {r['repeats']} | {r['eager']:.2f} | {r['compiled']:.2f} | **{r['ratio']:.3f}** | {r['pair_ratios']} | {r['compile_s']} |\n" for r in rows)
        with open(a.out, 'w') as f: f.write(head + body)


if __name__ == '__main__': main()
