"Black-box tests of `genbook train vae`, `genbook latent` and `genbook sample` on a VAE run, through the command line."
import json
import math

import pytest
from PIL import Image

import cli

# The embedded MNIST sample, never the full data; one thread keeps the timings steady on a shared machine.
ENV = {'GENBOOK_DATA': None, 'OMP_NUM_THREADS': '1'}


def genbook(tmp_path, *args):
    return cli.genbook(*args, cache=tmp_path/'cache', env=ENV)


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A VAE trained for 5 steps on the embedded MNIST sample."
    tmp = tmp_path_factory.mktemp('vae')
    r = genbook(tmp, 'train', 'vae', 'mnist', '--out', tmp/'run', '--max-steps', 5, '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    return tmp, tmp/'run', r


def test_train_writes_a_run(run):
    tmp, d, r = run
    for f in ('config.json', 'history.csv', 'metrics.json', 'curves.png', 'samples.gif'):
        assert (d/f).is_file(), f
    assert list((d/'samples').glob('*.png'))
    assert (d/'checkpoints'/'latest.json').is_file()
    m = json.loads((d/'metrics.json').read_text())
    assert math.isfinite(m['test_elbo']) and m['test_elbo'] < 0
    assert (m['steps'], m['binarize'], m['likelihood'], m['units']) == (5, 'dynamic', 'bernoulli', 'nats per image')
    assert json.loads(r.stdout.strip().splitlines()[-1])['steps'] == 5
    cfg = json.loads((d/'config.json').read_text())
    assert (cfg['model'], cfg['settings']['latent'], cfg['data']['source']) == ('vae', 2, 'embedded')
    assert (d/'history.csv').read_text().splitlines()[0] == 'epoch,steps,loss,recon,kl,test_elbo,seconds'


@pytest.mark.parametrize('plot', ['manifold', 'scatter', 'recon', 'interp'])
def test_latent_figures(run, plot):
    tmp, d, _ = run
    out = tmp/f'{plot}.png'
    r = genbook(tmp, 'latent', d, '--plot', plot, '--out', out, '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im: assert im.format == 'PNG' and min(im.size) > 28


def test_sample_and_resume(run):
    tmp, d, _ = run
    r = genbook(tmp, 'sample', d, '--n', 8, '--out', tmp/'s.npz', '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)['shape'] == [1, 28, 28]
    r = genbook(tmp, 'train', 'vae', 'mnist', '--out', d, '--max-steps', 5)
    assert r.returncode == 2 and 'pass --resume' in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize('args, msg', [
    (['latent', '{run}', '--plot', 'tsne', '--out', '{tmp}/x.png'], "invalid choice: 'tsne'"),
    (['latent', '{run}', '--plot', 'recon', '--out', '{tmp}/x.jpg'], 'FILE.png'),
    (['train', 'vae', 'mnist', '--out', '{tmp}/bad', '--latent', '0'], 'positive integer'),
    (['train', 'vae', 'mnist', '--out', '{tmp}/bad', '--likelihood', 'logistic'], 'use bernoulli'),
    (['train', 'vae', 'mnist', '--out', '{tmp}/bad', '--latent', '50', '--start-from', '{run}'], 'trained with latent=2, not 50'),
    (['train', 'vae', 'mnist', '--out', '{tmp}/bad', '--start-from', '{tmp}'], 'is not a genbook run'),
    (['eval', '{run}', '--gaps-n', '-1'], 'must be 0 or more'),
])
def test_bad_input_is_one_line(run, args, msg):
    tmp, d, _ = run
    r = genbook(tmp, *[a.format(run=d, tmp=tmp) for a in args])
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and msg in lines[0], r.stderr
    assert 'Traceback' not in r.stderr


def test_start_from_another_run(run):
    "A warm start records where its weights came from and begins near that run's score."
    tmp, d, _ = run
    r = genbook(tmp, 'train', 'vae', 'mnist', '--out', tmp/'warm', '--start-from', d, '--max-steps', 1, '--lr', 1e-9, '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp/'warm'/'config.json').read_text())
    assert cfg['start_from'] == str(d.resolve()) and cfg['started_at'] == dict(epochs=0, steps=5)
    before, after = (json.loads((p/'metrics.json').read_text())['test_elbo'] for p in (d, tmp/'warm'))
    assert abs(after - before) < 0.01, (before, after)


def test_manifold_needs_latent_2(tmp_path):
    r = genbook(tmp_path, 'train', 'vae', 'mnist', '--out', tmp_path/'l3', '--latent', 3, '--max-steps', 1, '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    r = genbook(tmp_path, 'latent', tmp_path/'l3', '--plot', 'manifold', '--out', tmp_path/'m.png')
    assert r.returncode == 2 and '2-dimensional latent space' in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_resume_after_a_whole_epoch(tmp_path):
    "A run resumed at an epoch boundary goes on from there, progress bar and all."
    r = genbook(tmp_path, 'train', 'vae', 'mnist', '--out', tmp_path/'run', '--epochs', 1, '--bs', 500, '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    r = genbook(tmp_path, 'train', 'vae', 'mnist', '--out', tmp_path/'run', '--epochs', 2, '--resume', '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    assert 'shadowing' not in r.stderr, r.stderr  # fastai's callbacks warn of an attribute of theirs the learner also has
    m = json.loads(r.stdout.strip().splitlines()[-1])
    assert (m['epochs'], m['steps'], m['stopped']) == (2, 24, 'finished')
    rows = (tmp_path/'run'/'history.csv').read_text().splitlines()
    assert [row.split(',')[:2] for row in rows[1:]] == [['1', '12'], ['2', '24']]
