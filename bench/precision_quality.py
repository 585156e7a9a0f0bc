"""Does bf16 cost quality? The same runs (same seed, data and settings) in fp32 and in bf16, scored the same way.

DCGAN on MNIST for a few epochs: digit FID/KID and the classifier's diagnostics of 10,000 samples. VAE on MNIST (latent 2)
for a few epochs: the test ELBO on the 10,000 test digits (target: within 0.5 nats of fp32's). Run folders go to --runs
(resumable: rerun the same command); the table goes to results/precision_quality_cpu.md.

    python bench/precision_quality.py --runs /tmp/precision_runs --dcgan-epochs 3 --vae-epochs 5 --fp32-seeds 2
"""
import argparse
import json
import platform
from pathlib import Path

import torch

from genbook.core import bf16_native, get_device
from genbook.dcgan import train_dcgan
from genbook.evaluate import evaluate_run
from genbook.vae_train import train_vae

OUT = Path(__file__).parent/'results'/'precision_quality_cpu.md'


def _train(fn, run:Path, **kw)->dict:
    "Train `run` (or finish it, when an earlier call was stopped); returns its metrics."
    done = json.loads((run/'metrics.json').read_text()) if (run/'metrics.json').exists() else {}
    if done.get('stopped') != 'finished': fn(out=run, resume=(run/'checkpoints'/'latest.json').exists(), show=False, **kw)
    return json.loads((run/'metrics.json').read_text())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--runs', type=Path, required=True)
    p.add_argument('--dcgan-epochs', type=int, default=3)
    p.add_argument('--vae-epochs', type=int, default=5)
    p.add_argument('--n', type=int, default=10000, help='samples scored per DCGAN run')
    p.add_argument('--fp32-seeds', type=int, default=1, help='DCGAN fp32 runs with seeds 0, 1, ...: the spread that seeds alone give')
    p.add_argument('--data', help='MNIST folder (default: found as usual)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int)
    p.add_argument('--out', type=Path, default=OUT)
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    dev = get_device(a.device)
    rows = []
    for prec, seed in [('fp32', 0), ('bf16', 0)] + [('fp32', s) for s in range(1, a.fp32_seeds)]:
        run = a.runs/(f'dcgan_mnist_{prec}' + (f'_seed{seed}' if seed else ''))
        m = _train(train_dcgan, run, dataset='mnist', epochs=a.dcgan_epochs, precision=prec, seed=seed, data=a.data, device=a.device)
        ev = json.loads((run/'eval.json').read_text()) if (run/'eval.json').exists() else {}
        if ev.get('steps') != m['steps'] or ev.get('n') != a.n: ev = evaluate_run(run, n=a.n, device=a.device, data=a.data)
        d, cl = ev['distances']['mnist'], ev['classifier']['samples']
        rows.append(dict(model='dcgan', precision=prec, seed=seed, epochs=m['epochs'], s_per_epoch=m['seconds_per_epoch'], fid=d['fid'], fid_floor=d['fid_floor'],
                         kid=d['kid'], entropy=cl['label_entropy'], missing=cl['missing_digits'], confidence=cl['mean_confidence'],
                         d_real=ev['discriminator']['d_real'], d_fake=ev['discriminator']['d_fake']))
        print(json.dumps(rows[-1]), flush=True)
    for prec in ('fp32', 'bf16'):
        run = a.runs/f'vae_mnist_{prec}'
        m = _train(train_vae, run, dataset='mnist', latent=2, epochs=a.vae_epochs, precision=prec, data=a.data, device=a.device)
        rows.append(dict(model='vae', precision=prec, epochs=m['epochs'], s_per_epoch=m['seconds_per_epoch'], test_elbo=m['test_elbo']))
        print(json.dumps(rows[-1]), flush=True)
    gans, (v32, v16) = rows[:-2], rows[-2:]
    g32 = gans[0]
    lines = ["# bf16 against fp32: the same runs, the same scores\n",
             f"device {dev} (native bf16: {bf16_native(dev)}), {torch.get_num_threads()} threads, torch {torch.__version__}, "
             f"python {platform.python_version()}; seed 0, full MNIST; produced by `python bench/precision_quality.py`.\n",
             f"## DCGAN on MNIST (TF tutorial recipe), {g32['epochs']} epochs, {a.n:,} samples scored in the digit classifier's features\n",
             "| precision | seed | s per epoch | FID (floor) | KID x 1000 | label entropy (max 2.303) | digits missing | mean confidence | D(x) / D(G(z)) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in gans:
        lines.append(f"| {r['precision']} | {r['seed']} | {r['s_per_epoch']} | {r['fid']:.2f} ({r['fid_floor']:.2f}) | {1000 * r['kid']:.1f} | {r['entropy']:.3f} | "
                     f"{', '.join(map(str, r['missing'])) or 'none'} | {r['confidence']:.3f} | {r['d_real']:.3f} / {r['d_fake']:.3f} |")
    lines += [f"\n## VAE on MNIST (latent 2), {v32['epochs']} epochs: test ELBO on the 10,000 test digits\n",
              "| precision | s per epoch | test ELBO (nats) |", "|---|---|---|"]
    for r in (v32, v16): lines.append(f"| {r['precision']} | {r['s_per_epoch']} | {r['test_elbo']:.2f} |")
    gap = v16['test_elbo'] - v32['test_elbo']
    lines.append(f"\nbf16 minus fp32: {gap:+.2f} nats ({'within' if abs(gap) <= 0.5 else 'outside'} the 0.5-nat target). "
                 "One pair is one draw, not a distribution: the DCGAN's other fp32 seeds show how far seeds alone move its scores.")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text('\n'.join(lines) + '\n')
    a.out.with_suffix('.json').write_text(json.dumps(rows, indent=1) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__': main()
