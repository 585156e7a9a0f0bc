"""Does a GAN's training curve track the quality of its samples? The WGAN-GP paper's point is that the critic's
Wasserstein estimate does, where a DCGAN's losses do not. For each epoch of a run, the grid of samples it saved from
fixed noise (`samples/epoch_NNN.png`, 64 or 100 images) is scored by KID against the held-out images in the data set's
default features (MNIST: the 10,000 test digits in the digit classifier's; anime: the 2,297 held-out faces in
Inception's). KID is unbiased at any sample size; at 64 images it is noisy, so only its trend counts. Spearman's rank
correlation of that KID with each column of the run's `history.csv` is reported, beside its correlation with the epoch
number (a curve that only falls with time tracks a run that only improves as well). Each result names its data set and
how many held-out images it was scored against (`n_ref`: without the full MNIST, the embedded sample's 1,000 test digits).

Usage: python bench/wdist_vs_quality.py RUN [RUN...] [--out bench/results/wdist_vs_quality.json]
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genbook.data import load_dataset
from genbook.evaluate import DEFAULT_FEATURES
from genbook.features import cached_features, extract_features, feature_extractor
from genbook.metrics import kid_from_features
from genbook.run import Run


def grid_images(fname, size:int=28, pad:int=2, channels:int=1)->torch.Tensor:
    "The images of a grid `genbook.core.save_grid` wrote (`channels` 1 or 3, `size` pixels, `pad` between), as uint8 `(N, channels, size, size)`."
    g = np.asarray(Image.open(fname).convert('L' if channels == 1 else 'RGB'))
    if channels == 1: g = g[..., None]
    rows, cols = (g.shape[0] - pad) // (size + pad), (g.shape[1] - pad) // (size + pad)
    tiles = [g[pad + i*(size+pad):pad + i*(size+pad) + size, pad + j*(size+pad):pad + j*(size+pad) + size] for i in range(rows) for j in range(cols)]
    tiles = [t for t in tiles if t.min() < 255]   # a grid's unused cells are blank padding
    return torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).contiguous()


def spearman(a, b)->float:
    "Spearman's rank correlation of two sequences (no ties expected)."
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def track(run_dir, ext, real)->dict:
    "Per-epoch KID of the run's sample grids and its rank correlation with each history column."
    run = Run(run_dir)
    grids = sorted(run.samples.glob('epoch_*.png'))
    c, _, size = run.config['image_shape']
    kid = [kid_from_features(real, extract_features(grid_images(f, size, channels=c), ext))[0] for f in grids]
    hist = {int(r['epoch']): r for r in run.history() if float(r['epoch']).is_integer()}
    epochs = [int(f.stem.split('_')[1]) for f in grids]
    cols = [k for k in hist[epochs[0]] if k not in ('epoch', 'steps', 'seconds')]
    return dict(run=run.name, model=run.config['model'], dataset=run.config['dataset'], n_ref=len(real), epochs=epochs, kid=[round(k, 5) for k in kid],
                history={c: [hist[e][c] for e in epochs] for c in cols},
                spearman_with_kid={c: round(spearman([hist[e][c] for e in epochs], kid), 3) for c in cols},
                spearman_epoch_with_kid=round(spearman(epochs, kid), 3))   # the baseline: how well time alone tracks it


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('runs', nargs='+')
    p.add_argument('--out', default='bench/results/wdist_vs_quality.json')
    a = p.parse_args()
    res, feats = [], {}
    for r in a.runs:
        ds = Run(r).config['dataset']
        if ds not in feats:   # the feature network and the held-out images' features, once a data set
            ext = feature_extractor(DEFAULT_FEATURES[ds][0], 'cpu')
            feats[ds] = ext, cached_features(load_dataset(ds).test, ext)
        res.append(track(r, *feats[ds]))
    for r in res: print(r['run'], r['spearman_with_kid'])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
