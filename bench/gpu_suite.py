"""The Python half of `bench/gpu_suite.sh`: a CUDA smoke test, epoch times of each model alone, and the archives
that bring the runs back (at most 8 files of at most 16 MiB: fp16 weights instead of checkpoints).

Every step calls genbook's command line in this process (`genbook.cli.main`), as a user's `genbook ...` would,
so that PyTorch and fastai are imported once.
Usage: python bench/gpu_suite.py {info,smoke,times,ddp,pack,unpack} ... (see each function)
"""
import argparse
import csv
import json
import os
import platform
import shutil
import sys
import tarfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from genbook.cli import main as genbook
from genbook.run import read_weights

MiB = 1 << 20

# The report's four runs, two more, the later models and the modern recipe's two anime runs, as `genbook train` arguments (the data and device are added).
# The epochs are those of the runs in pretrained/ and records/; on a GPU every run trains for the report's 50 (train_argv).
RUNS = {
    'dcgan_mnist': ['dcgan', 'mnist', '--epochs', '50'],
    'vae_mnist': ['vae', 'mnist', '--latent', '2', '--epochs', '50'],
    'dcgan_anime': ['dcgan', 'anime', '--epochs', '50'],
    'vae_anime': ['vae', 'anime', '--epochs', '50'],
    'dcgan_mnist_paper': ['dcgan', 'mnist', '--epochs', '50', '--lr', '2e-4', '--beta1', '0.5'],
    'vae_mnist_latent50': ['vae', 'mnist', '--latent', '50', '--epochs', '50'],
    'cgan_mnist': ['cgan', 'mnist', '--epochs', '20'],
    'cvae_mnist': ['cvae', 'mnist', '--epochs', '20'],
    'wgan_mnist': ['wgan', 'mnist', '--epochs', '20'],
    'wgan_anime': ['wgan', 'anime', '--epochs', '10'],
    'dcgan_anime_recipe': ['dcgan', 'anime', '--epochs', '50', '--diffaugment', 'color,translation,cutout', '--ema', '0.999'],
    'vae_anime_logistic': ['vae', 'anime', '--epochs', '50', '--likelihood', 'logistic'],
    # the same MNIST steps compiled (`--compile`: CUDA graphs on a GPU), timed beside the eager ones
    'vae_mnist_compiled': ['vae', 'mnist', '--latent', '2', '--epochs', '50', '--compile'],
    'dcgan_mnist_compiled': ['dcgan', 'mnist', '--epochs', '50', '--compile'],
}


def _run(argv:list):
    "`genbook ARGV` in this process; a non-zero exit ends the suite with the command named."
    print('$ genbook ' + ' '.join(argv), flush=True)
    rc = genbook(argv)
    if rc != 0: sys.exit(f"genbook {' '.join(argv)} exited with {rc}")


def _data_args(name:str, data:dict)->list: return ['--data', data[RUNS[name][1]]]


def info(out:Path)->dict:
    "Where the suite runs: Python, PyTorch, the GPU."
    d = dict(python=platform.python_version(), torch=torch.__version__, cuda=torch.version.cuda,
             device=torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu',
             gpus=torch.cuda.device_count(), cpus=os.cpu_count(), host=platform.node())
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        d.update(gpu_memory_gib=round(p.total_memory / 2**30, 1), sms=p.multi_processor_count)
    out.mkdir(parents=True, exist_ok=True)
    (out/'info.json').write_text(json.dumps(d, indent=1))
    print(json.dumps(d), flush=True)
    return d


def smoke(work:Path, data:dict, device:str, steps:int=4):
    "Every command on `device` for a few steps: train, resume, sample, latent, eval (digit features)."
    s = work/'smoke'
    for name in ('dcgan_mnist', 'vae_mnist', 'dcgan_anime', 'vae_anime'):
        model, ds = RUNS[name][:2]
        run = str(s/name)
        _run(['train', model, ds, '--out', run, '--max-steps', str(steps), '--device', device, *_data_args(name, data)])
        _run(['train', model, ds, '--out', run, '--resume', '--max-steps', str(2*steps), '--device', device, *_data_args(name, data)])
        _run(['sample', run, '--n', '16', '--out', str(s/f'{name}.png'), '--device', device])
    _run(['latent', str(s/'vae_mnist'), '--plot', 'manifold', '--out', str(s/'manifold.png'), '--device', device, '--data', data['mnist']])
    _run(['classifier', '--force', '--epochs', '1', '--device', device, '--data', data['mnist']])  # training one on the device
    for name in ('dcgan_mnist', 'vae_mnist'):
        _run(['eval', str(s/name), '--n', '256', '--iwae-k', '16', '--iwae-n', '32', '--recon-n', '8', '--device', device, '--data', data['mnist']])
    amp = ['--precision', 'bf16', '--channels-last'] if device.startswith('cuda') else []  # optional: a failure is reported, not fatal
    rc = genbook(['train', 'dcgan', 'anime', '--out', str(s/'dcgan_anime_bf16'), '--max-steps', str(steps), '--device', device, '--data', data['anime'], *amp])
    print(f"smoke: dcgan anime {' '.join(amp) or '(fp32)'} exited with {rc}", flush=True)


def _epoch_seconds(run:Path)->dict:
    "Seconds of each epoch of a run, from its `history.csv`."
    with open(run/'history.csv', newline='') as f: rows = list(csv.DictReader(f))
    return dict(epochs=[float(r['epoch']) for r in rows], seconds=[float(r['seconds']) for r in rows],
                steps=[int(float(r['steps'])) for r in rows])


def _extra(name:str)->list:
    "The settings of run `name` other than model, data set and epochs."
    a, out, i = RUNS[name][2:], [], 0
    while i < len(a):   # options with a value, and flags (`--compile`)
        if a[i] == '--epochs': i += 2
        else: out.append(a[i]); i += 1
    return out


def train_argv(name:str, runs:Path, data:dict, device:str, epochs:int=None, max_steps:int=None)->list:
    "The `genbook train` arguments of run `name` in the folder `runs`."
    a = ['train', *RUNS[name][:2], '--out', str(runs/name), *_extra(name), '--epochs', str(epochs or 50)]
    if max_steps: a += ['--max-steps', str(max_steps)]
    return a + ['--device', device, *_data_args(name, data)]


def times(work:Path, out:Path, data:dict, device:str, names:list, epochs:int=2, max_steps:int=None):
    "Seconds per epoch of each model alone on `device`: `epochs` epochs each, one after the other (the first warms up); then, for the eager runs, a step through genbook beside the same step in a plain PyTorch loop (`genbook time`)."
    res = json.loads((out/'times.json').read_text()) if (out/'times.json').exists() else {}
    for name in names:
        shutil.rmtree(work/'times'/name, ignore_errors=True)
        _run(train_argv(name, work/'times', data, device, epochs, max_steps))
        t = _epoch_seconds(work/'times'/name)
        t['seconds_per_epoch'] = t['seconds'][-1]
        if '--compile' not in RUNS[name]:   # its step through genbook beside a plain PyTorch loop of it (`genbook time`)
            _run(['time', str(work/'times'/name), '--device', device, *(['--steps', '2', '--rounds', '1', '--warmup', '1'] if max_steps else ['--steps', '50'])])
            t['timing'] = json.loads((work/'times'/name/'timing.json').read_text())
            print(f"{name}: a step takes {1e3 * t['timing']['genbook_s']:.2f} ms through genbook, {1e3 * t['timing']['plain_s']:.2f} ms in a plain "
                  f"PyTorch loop (genbook at {t['timing']['speed']:.2f} of its speed)", flush=True)
        res[name] = t
        print(f"{name}: seconds of each epoch {t['seconds']}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out/'times.json').write_text(json.dumps(res, indent=1))


def _fp16_weights(run:Path)->dict|None:
    "The latest weights of `run` in fp16 (integer buffers kept as they are), or `None` without a checkpoint."
    ptr = run/'checkpoints'/'latest.json'
    if not ptr.exists(): return None
    w = load_file(run/'checkpoints'/json.loads(ptr.read_text())['dir']/'model.safetensors')
    return {k: v.half() if v.is_floating_point() else v for k,v in w.items()}


def _members(run:Path)->list:
    "The files of `run` to bring back, most wanted first (sample grids thinned to about ten)."
    first = [run/f for f in ('config.json', 'metrics.json', 'history.csv', 'eval.json', 'train.log', 'eval.log', 'curves.png')]
    grids = sorted((run/'samples').glob('*.png'))
    step = max(1, len(grids) // 10)
    picked = sorted(set(grids[::-step][:11]))
    return [p for p in first + picked + [run/'samples.gif', run/'checkpoints'/'latest.json'] if p.exists()]


def pack(runs:Path, out:Path, groups:dict, limit:float=15.5):
    "Tar each group of runs into `out/GROUP.tar` with fp16 weights, dropping the least wanted files above `limit` MiB."
    for group, names in groups.items():
        names = [n for n in names if (runs/n).exists()]
        if not names: continue
        tmp = out/f'{group}.tar'
        with tarfile.open(tmp, 'w') as tf:
            for n in names:
                w = _fp16_weights(runs/n)
                if w is not None:
                    f = runs/n/'weights_fp16.safetensors'
                    save_file(w, f)
                    tf.add(f, f'{n}/weights_fp16.safetensors')
            for n in names:
                for p in _members(runs/n):
                    if tmp.stat().st_size + p.stat().st_size + 2048 > limit * MiB: print(f"pack: {group}.tar is full, {p} left out"); continue
                    tf.add(p, f'{n}/{p.relative_to(runs/n)}')
                    tf.fileobj.flush()
        print(f"pack: {tmp} {tmp.stat().st_size / MiB:.1f} MiB ({', '.join(names)})", flush=True)


def unpack(files:list, dest:Path):
    "Unpack archives written by `pack` into `dest` (regular files only, no path outside it)."
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        with tarfile.open(f) as tf: tf.extractall(dest, filter='data')
        print(f"unpacked {f} into {dest}")


def checkpoint_from_fp16(run:Path):
    "Give a run folder that came back with `weights_fp16.safetensors` a checkpoint of those weights (fp32), for `genbook eval`."
    w = read_weights(run/'weights_fp16.safetensors')
    steps = json.loads((run/'metrics.json').read_text())['steps']
    d = run/'checkpoints'/f'step_{steps:08d}'
    d.mkdir(parents=True, exist_ok=True)
    save_file(w, d/'model.safetensors')
    (run/'checkpoints'/'latest.json').write_text(json.dumps(dict(dir=d.name, epoch=None, iter=0, steps=steps)))
    print(f"{run}: checkpoint {d.name} from its fp16 weights", flush=True)


def ddp(work:Path, out:Path, data:dict, device:str, name:str, epochs:int=2, max_steps:int=None):
    """What training through `genbook.distrib.DataParallel` costs on one device: run `name` for `epochs` epochs in this
    process, then the same run launched as one process by `torchrun` (gradients all-reduced over a world of one, the
    loaders sharded, rank-0 writing), one after the other on the same device; the ratio of their last epochs' seconds."""
    import subprocess
    res = {}
    for how in ('plain', 'ddp'):
        runs = work/'ddp'/how
        shutil.rmtree(runs, ignore_errors=True)
        argv = train_argv(name, runs, data, device, epochs, max_steps)
        if how == 'plain': _run(argv)
        else:
            cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '1', '-m', 'genbook', *argv]
            print('$ ' + ' '.join(cmd), flush=True)
            rc = subprocess.run(cmd).returncode
            if rc: sys.exit(f"{' '.join(cmd)} exited with {rc}")
        res[how] = _epoch_seconds(runs/name)
        res[how]['processes'] = json.loads((runs/name/'metrics.json').read_text()).get('processes')
    res['ratio'] = round(res['ddp']['seconds'][-1] / res['plain']['seconds'][-1], 3)
    res.update(run=name, device=device)
    print(f"ddp: {name} last epoch {res['plain']['seconds'][-1]:.2f} s plain, {res['ddp']['seconds'][-1]:.2f} s through DataParallel (ratio {res['ratio']})", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out/'ddp.json').write_text(json.dumps(res, indent=1))


def _data_map(a)->dict: return dict(mnist=a.mnist, anime=a.anime)


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('what', choices=['info', 'smoke', 'times', 'ddp', 'train', 'pack', 'unpack', 'ckpt'])
    p.add_argument('names', nargs='*', help='runs (times, train), groups as GROUP=run,run (pack) or archives (unpack)')
    p.add_argument('--work', type=Path, default=Path('/tmp/gpu_suite'))
    p.add_argument('--out', type=Path, default=Path(os.environ.get('OUT', 'bench/out/gpu')))
    p.add_argument('--mnist'); p.add_argument('--anime')
    p.add_argument('--device', default='cuda')
    p.add_argument('--epochs', type=int); p.add_argument('--max-steps', type=int)
    a = p.parse_args()
    if a.what == 'info': info(a.out)
    elif a.what == 'smoke': smoke(a.work, _data_map(a), a.device)
    elif a.what == 'times': times(a.work, a.out, _data_map(a), a.device, a.names, a.epochs or 2, a.max_steps)
    elif a.what == 'ddp': ddp(a.work, a.out, _data_map(a), a.device, a.names[0], a.epochs or 2, a.max_steps)
    elif a.what == 'train': sys.exit(genbook(train_argv(a.names[0], a.work/'runs', _data_map(a), a.device, a.epochs, a.max_steps)))
    elif a.what == 'pack': pack(a.work/'runs', a.out, {g.split('=')[0]: g.split('=')[1].split(',') for g in a.names})
    elif a.what == 'ckpt':
        for r in a.names: checkpoint_from_fp16(Path(r))
    else: unpack(a.names, a.out)
