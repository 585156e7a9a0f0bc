"""Speed of genbook's training step in bf16 against a plain fp32 PyTorch loop and against genbook in fp32.

For each model and data set, three paths train the same networks from the same weights on the same batches, in
one process, interleaved round by round (the order rotates each round): the plain loop of `bench_dcgan.py` /
`bench_vae.py` in fp32, genbook's learner with every run callback in fp32, and the same in bf16 (`precision='bf16'`:
autocast of the forward passes; weights, optimiser state and losses in fp32). A path's speed is its best round's
median step, as `timeit` takes the best run; ratios are against the plain fp32 loop.

    python bench/bench_precision.py --threads 2                 # all four cases, results/precision_cpu.md
    python bench/bench_precision.py --cases dcgan_mnist --rounds 2 --out /tmp/p
"""
import argparse
import copy
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import bench_dcgan as bd
import bench_vae as bv
from genbook.core import bf16_native, get_device, set_seed
from genbook.loaders import TensorDL, image_dls
from dataclasses import replace
from genbook.dcgan import PRESETS, DCGAN, STATS, dcgan_learner, sample_images
from genbook.run import Run
from genbook.fit import fit_run
from genbook.vae import VAE, sample_images as vae_samples
from genbook.vae_train import MODEL as VAE_MODEL, vae_learner, vae_stats

OUT = Path(__file__).parent/'results'/'precision_cpu'
CASES = {'dcgan_mnist': dict(model='dcgan', dataset='mnist', bs=256, steps=3),
         'dcgan_anime': dict(model='dcgan', dataset='anime', bs=128, steps=2),
         'vae_anime': dict(model='vae', dataset='anime', latent=128, bs=64, steps=10),
         'vae_mnist': dict(model='vae', dataset='mnist', latent=2, bs=32, steps=200)}


def _data(case):
    return bd.bench_data(case['dataset'], case['bs'] * (case['steps'] + 3)) if case['model'] == 'dcgan' else bv._data(case['dataset'])


def _genbook(case, model0, data, dev, n, bf16:bool)->list:
    "Time stamps of `n + 1` steps of genbook's learner inside `fit_run`, in fp32 or bf16."
    clock, model = bd._Clock(), copy.deepcopy(model0).to(dev)
    if case['model'] == 'dcgan':
        c = PRESETS[case['dataset']]
        dls = image_dls(data, case['bs'], scale='gan', seed=0, device=dev)
        learn = dcgan_learner(replace(c, precision='bf16' if bf16 else 'fp32'), dls, model)
        learn.add_cb(clock)
        stats, fn = STATS, sample_images
    else:
        c = VAE_MODEL.preset(case['dataset'], latent=case['latent'], bs=case['bs'], precision='bf16' if bf16 else 'fp32')
        dls = image_dls(data, c.bs, scale=c.scale, target='self', seed=0, device=dev)
        learn = vae_learner(c, dls, model)
        learn.add_cb(clock)
        stats, fn = vae_stats(c), vae_samples
    with tempfile.TemporaryDirectory() as d:
        fit_run(learn, Run(Path(d)/'run').start(dict(model=case['model'])), 1, stats, fn, max_steps=n + 1)
    return clock.t


def _plain(case, model0, data, dev, n)->list:
    "Time stamps of `n + 1` steps of the plain fp32 PyTorch loop."
    model = copy.deepcopy(model0).to(dev)
    if case['model'] == 'dcgan':
        return bd._plain_loop(model, PRESETS[case['dataset']], image_dls(data, case['bs'], scale='gan', seed=0, device=dev).train, n + 1)
    c = VAE_MODEL.preset(case['dataset'], latent=case['latent'], bs=case['bs'])
    opt, lf = torch.optim.Adam(model.parameters(), lr=c.lr), bv.VAELoss(model)
    dl = TensorDL(data.train, bs=c.bs, scale=c.scale, shuffle=True, drop_last=True, seed=0, device=dev)
    model.train()
    t = []
    for (xb,) in dl:
        loss = lf(model(xb), xb)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        t.append(time.perf_counter())
        if len(t) == n + 1: break
    return t


PATHS = {'plain_fp32': lambda *a: _plain(*a), 'genbook_fp32': lambda *a: _genbook(*a, bf16=False), 'genbook_bf16': lambda *a: _genbook(*a, bf16=True)}


def bench(name, rounds, dev)->dict:
    case = CASES[name]
    set_seed(0)
    model0 = DCGAN(PRESETS[case['dataset']]) if case['model'] == 'dcgan' else VAE(VAE_MODEL.preset(case['dataset'], latent=case['latent']))
    data, n = _data(case), case['steps']
    order, steps = list(PATHS), {p: [] for p in PATHS}
    for r in range(rounds):
        for p in order[r % 3:] + order[:r % 3]:
            t = PATHS[p](case, model0, data, dev, n)
            steps[p].append([b - a for a, b in zip(t[:-1], t[1:])])  # the first step (warm-up) is not timed
    best = {p: min(sorted(v)[len(v)//2] for v in rs) for p, rs in steps.items()}
    row = dict(case=name, bs=case['bs'], steps=n, rounds=rounds, seconds=best,
               vs_plain={p: best['plain_fp32'] / s for p, s in best.items()}, bf16_vs_fp32=best['genbook_fp32'] / best['genbook_bf16'])
    print(json.dumps(row), flush=True)
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--cases', default=','.join(CASES))
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--device', default='cpu')
    p.add_argument('--out', default=str(OUT))
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev = get_device(a.device)
    rows = [bench(c, a.rounds, dev) for c in a.cases.split(',')]
    info = dict(device=str(dev), bf16_native=bf16_native(dev), threads=torch.get_num_threads(), torch=torch.__version__,
                python=platform.python_version(), rows=rows)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix('.json').write_text(json.dumps(info, indent=2) + '\n')
    lines = ["# Training step in bf16: genbook against a plain fp32 loop and genbook fp32\n",
             f"device {info['device']} (native bf16: {info['bf16_native']}), {info['threads']} threads, torch {info['torch']}; "
             f"paths interleaved round by round in one process; a path's time is its best round's median step.\n",
             "| case | batch | rounds x timed steps | plain fp32 (s/step) | genbook fp32 (s/step) | genbook bf16 (s/step) | genbook fp32 / plain | genbook bf16 / plain fp32 | bf16 / fp32 (genbook) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, v = r['seconds'], r['vs_plain']
        lines.append(f"| {r['case']} | {r['bs']} | {r['rounds']} x {r['steps']} | {s['plain_fp32']:.4f} | {s['genbook_fp32']:.4f} | {s['genbook_bf16']:.4f} | "
                     f"{v['genbook_fp32']:.2f}x | **{v['genbook_bf16']:.2f}x** | {r['bf16_vs_fp32']:.2f}x |")
    lines.append("\nSpeed-ups are ratios of steps per second (above 1: faster than the plain fp32 loop). Target: genbook bf16 at least 1.5x the plain fp32 loop for the DCGANs and the anime VAE.")
    out.with_suffix('.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__': main()
