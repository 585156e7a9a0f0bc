"""Seconds to extract features and compute FID/KID on the CPU, for the two feature spaces of `genbook.metrics`.

    python bench/bench_fid.py [--n-mnist 10000] [--n-inception 200] [--threads 1] [--out bench/results/fid_cpu.md]

Digit features are timed on N real MNIST digits (the embedded sample, repeated to N); Inception features on a
small N, with the time for 10,000 images extrapolated linearly and marked as such. The weights do not change the
timings, so an untrained classifier of the default width stands in when none is cached.
"""
import argparse
import inspect
import os
import platform
import time
from pathlib import Path

import torch

from genbook.core import GenbookError
from genbook.data import mnist_sample
from genbook.features import ClassifierFeatures, InceptionFeatures, MnistClassifier, extract_features, load_classifier, train_mnist_classifier
from genbook.metrics import fid_from_features, kid_from_features


def timed(f, *args, **kw):
    t = time.perf_counter()
    out = f(*args, **kw)
    return out, time.perf_counter() - t


def digits(n:int)->torch.Tensor:
    x = torch.cat([mnist_sample().train, mnist_sample().test])
    return x.repeat(-(-n // len(x)), 1, 1, 1)[:n]


def cpu_name()->str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n-mnist', type=int, default=10000)
    p.add_argument('--n-inception', type=int, default=200)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'fid_cpu.md'))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    try: clf, which = load_classifier(device='cpu'), 'cached classifier'
    except GenbookError:
        nf = inspect.signature(train_mnist_classifier).parameters['nf'].default
        clf, which = MnistClassifier(nf), 'untrained classifier of the default width'
    rows = []
    ext = ClassifierFeatures(clf)
    x = digits(a.n_mnist)
    f, s = timed(extract_features, x, ext)
    rows.append(('mnist', f.shape[1], 'feature extraction', a.n_mnist, s, 'measured'))
    _, s = timed(fid_from_features, f, f.flip(0))
    rows.append(('mnist', f.shape[1], 'FID from features', a.n_mnist, s, 'measured'))
    _, s = timed(kid_from_features, f, f.flip(0))
    rows.append(('mnist', f.shape[1], 'KID from features (100 subsets of 1,000)', a.n_mnist, s, 'measured'))

    inc = InceptionFeatures()
    x = digits(a.n_inception)
    extract_features(x[:2], inc)
    f, s = timed(extract_features, x, inc, bs=50)
    rows.append(('inception', f.shape[1], 'feature extraction (28x28 grey -> 299x299)', a.n_inception, s, 'measured'))
    rows.append(('inception', f.shape[1], 'feature extraction (28x28 grey -> 299x299)', 10000, s * 10000 / a.n_inception,
                 f'extrapolated from {a.n_inception}'))
    _, s = timed(fid_from_features, f, f.flip(0))
    rows.append(('inception', f.shape[1], 'FID from features', a.n_inception, s, 'measured (cost is set by d, not n)'))
    _, s = timed(kid_from_features, f, f.flip(0))
    rows.append(('inception', f.shape[1], f'KID from features (100 subsets of {a.n_inception})', a.n_inception, s, 'measured'))

    lines = ['# FID and KID on the CPU', '',
             f'{cpu_name()}, {a.threads} thread(s), torch {torch.__version__}, Inception from {inc.source}; '
             f'digit features of the {which} (width {clf.nf}); load average {os.getloadavg()[0]:.1f} at the end '
             f'(timings on a busy machine are upper bounds). Produced by `python bench/bench_fid.py`.', '',
             '| features | d | step | images | seconds | images/s | how |', '|---|---|---|---|---|---|---|']
    for name, d, step, n, s, how in rows:
        rate = (f'{n/s:,.0f}' if n/s >= 10 else f'{n/s:.2f}') if 'extraction' in step else ''
        lines.append(f'| {name} | {d} | {step} | {n:,} | {s:,.2f} | {rate} | {how} |')
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__': main()
