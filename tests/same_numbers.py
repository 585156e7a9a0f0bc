"""What a few fp32 training steps of every model and `genbook sample` of every shipped run compute.

`python tests/same_numbers.py` writes `tests/fixtures/same_numbers.json`; `tests/test_same_numbers.py` checks that the
code computes the same numbers still. Regenerate the file only for a change meant to change numbers, and say so."""
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent/'fixtures'/'same_numbers.json'
STEPS, BS = 3, 16
CASES = [('dcgan', 'mnist'), ('cgan', 'mnist'), ('wgan', 'mnist'), ('vae', 'mnist'), ('cvae', 'mnist'),
         ('dcgan', 'anime'), ('wgan', 'anime'), ('vae', 'anime')]


def toy_anime():
    "64 seeded random 64x64 RGB 'faces' (the networks' arithmetic, not the data, is under test)."
    from genbook.data import ImageData
    g = torch.Generator().manual_seed(0)
    return ImageData('anime', torch.randint(0, 256, (64, 3, 64, 64), generator=g, dtype=torch.uint8),
                     torch.randint(0, 256, (16, 3, 64, 64), generator=g, dtype=torch.uint8))


def weights_summary(w:dict)->dict:
    "Per tensor: its sum and the sum of its absolute values, in float64."
    return {k: [float(v.double().sum()), float(v.double().abs().sum())] for k, v in sorted(w.items())}


def trained(model:str, dataset:str, out:Path)->dict:
    "The weights of `model` after `STEPS` fp32 steps on the embedded MNIST sample or the toy faces."
    from genbook.data import mnist_sample
    from genbook.models import get_model, load_run
    from genbook.fit import train_run
    data = mnist_sample() if dataset == 'mnist' else toy_anime()
    train_run(get_model(model), dataset, out, max_steps=STEPS, bs=BS, precision='fp32', data=data, device='cpu', show=False)
    net, _, _ = load_run(out, 'cpu')
    return weights_summary(net.state_dict())


def png_pixels_sha256(fname)->str:
    return hashlib.sha256(np.asarray(Image.open(fname)).tobytes()).hexdigest()


def sampled(run:Path, out:Path)->str:
    "The sha256 of the pixels of `genbook sample RUN --n 16`."
    from genbook.cli import main
    assert main(['sample', str(run), '--n', '16', '--out', str(out), '--device', 'cpu']) == 0
    return png_pixels_sha256(out)


def compute()->dict:
    torch.set_num_threads(1)   # the same reductions on every machine
    res = dict(train={}, sample={})
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for m, ds in CASES: res['train'][f'{m}_{ds}'] = trained(m, ds, d/f'{m}_{ds}')
        for run in sorted(p for p in (ROOT/'pretrained').iterdir() if p.is_dir()):
            res['sample'][run.name] = sampled(run, d/f'{run.name}.png')
    return res


if __name__ == '__main__':
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(compute(), indent=1) + '\n')
    print(f'wrote {FIXTURE}', file=sys.stderr)
