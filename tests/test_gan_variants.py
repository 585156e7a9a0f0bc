"Black-box tests of the conditional GAN, the WGAN-GP and the conditional VAE through the command line: runs, labelled samples, refusals."
import json

import numpy as np
import pytest
import torch
from PIL import Image

from cli import genbook, ok_json, one_line_error
from genbook.data import mnist_sample
from genbook.fit import train_run
from genbook.models import MODELS, sample_run
from genbook.run import WEIGHTS, Run, read_weights

# The embedded MNIST sample, never the full data.
ENV = {'GENBOOK_DATA': None}


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "3-step cGAN, cVAE and DCGAN runs on the embedded sample."
    d = tmp_path_factory.mktemp('variants')
    for model, steps in (('cgan', 3), ('cvae', 3), ('dcgan', 3)):
        ok_json(genbook('train', model, 'mnist', '--out', d/model, '--max-steps', steps, '--bs', '16', cache=d/'cache', env=ENV))
    return d


def test_cgan_draws_the_label_asked_for(runs):
    d = runs
    r = ok_json(genbook('sample', d/'cgan', '--n', '6', '--label', '3', '--out', d/'threes.npz', cache=d/'cache', env=ENV))
    assert r['n'] == 6
    ok_json(genbook('sample', d/'cgan', '--n', '6', '--out', d/'mixed.npz', cache=d/'cache', env=ENV))
    with np.load(d/'threes.npz') as a, np.load(d/'mixed.npz') as b: threes, mixed = a['images'], b['images']
    assert threes.shape == (6, 28, 28, 1)
    assert (threes[0] != mixed[0]).any()   # same noise, label 3 against label 0
    ok_json(genbook('sample', d/'cgan', '--n', '100', '--out', d/'grid.png', cache=d/'cache', env=ENV))
    assert Image.open(d/'grid.png').size == (10*28 + 11*2,) * 2
    assert [p.suffix for p in (d/'cgan'/'samples').iterdir()] == ['.png']
    assert Image.open(next((d/'cgan'/'samples').iterdir())).size == (10*28 + 11*2,) * 2


def test_cvae_draws_the_label_asked_for(runs):
    d = runs
    for k in (2, 5): ok_json(genbook('sample', d/'cvae', '--n', '4', '--label', k, '--out', d/f'v{k}.npz', cache=d/'cache', env=ENV))
    with np.load(d/'v2.npz') as a, np.load(d/'v5.npz') as b: assert (a['images'] != b['images']).any()
    cfg = json.loads((d/'cvae'/'config.json').read_text())
    assert (cfg['model'], cfg['settings']['classes'], cfg['settings']['latent']) == ('cvae', 10, 2)
    assert 'test_elbo' in (d/'cvae'/'history.csv').read_text().splitlines()[0]


@pytest.mark.parametrize('model', ['cgan', 'cvae'])
@pytest.mark.parametrize('args, msg', [
    (('--label', '10'), "label 10 is out of range: this model's labels are 0 to 9"),
    (('--label', '-1'), "label -1 is out of range"),
])
def test_bad_labels(runs, model, args, msg):
    one_line_error(genbook('sample', runs/model, '--n', '4', *args, '--out', runs/'x.png', cache=runs/'cache', env=ENV), msg)


def test_label_on_an_unconditional_model(runs):
    one_line_error(genbook('sample', runs/'dcgan', '--n', '4', '--label', '3', '--out', runs/'x.png', cache=runs/'cache', env=ENV),
                   '--label: the DCGAN is not conditional')


@pytest.mark.parametrize('model', ['cgan', 'cvae'])
def test_conditional_model_on_anime_is_refused(tmp_path, model):
    one_line_error(genbook('train', model, 'anime', '--out', tmp_path/'r', '--max-steps', '1', cache=tmp_path/'cache', env=ENV),
                   'anime faces have no labels')
    assert not (tmp_path/'r').exists()


def test_wgan_trains_and_records_the_wasserstein_estimate(tmp_path):
    m = ok_json(genbook('train', 'wgan', 'mnist', '--out', tmp_path/'w', '--max-steps', '5', '--bs', '16', cache=tmp_path/'cache', env=ENV))
    assert m['steps'] == 5 and all(np.isfinite(m[k]) for k in ('loss_C', 'loss_G', 'wdist', 'gp'))
    cfg = json.loads((tmp_path/'w'/'config.json').read_text())
    assert (cfg['model'], *(cfg['settings'][k] for k in ('n_critic', 'gp', 'beta1', 'beta2'))) == ('wgan', 5, 10., 0., 0.9)
    head = (tmp_path/'w'/'history.csv').read_text().splitlines()[0].split(',')
    assert head[:6] == ['epoch', 'steps', 'loss_C', 'loss_G', 'wdist', 'gp']


@pytest.mark.parametrize('args, msg', [
    (('wgan', 'anime', '--critic-norm', 'batch'), 'a WGAN-GP critic cannot have BatchNorm'),
    (('wgan', 'mnist', '--critic-norm', 'layer'), 'critic_norm is for the 64x64 one'),
    (('dcgan', 'mnist', '--n-critic', '3'), '--n-critic: not an option of the DCGAN'),
    (('cgan', 'mnist', '--latent', '2'), '--latent: not an option of the cGAN'),
])
def test_bad_settings(tmp_path, args, msg):
    one_line_error(genbook('train', *args, '--out', tmp_path/'r', '--max-steps', '1', cache=tmp_path/'cache', env=ENV), msg)
    assert not (tmp_path/'r').exists()


@pytest.mark.parametrize('model', ['dcgan', 'cgan', 'wgan'])
def test_diffaugment_is_recorded_and_kept_on_resume(model, tmp_path):
    "`--diffaugment POLICY` trains every GAN, is recorded in config.json, stays on a resume that does not name it, and cannot be changed by one."
    out, c = tmp_path/'run', dict(cache=tmp_path/'cache', env=ENV)
    ok_json(genbook('train', model, 'mnist', '--out', out, '--max-steps', 2, '--bs', 16, '--device', 'cpu', '--diffaugment', 'color,translation,cutout', **c))
    assert json.loads((out/'config.json').read_text())['settings']['diffaugment'] == 'color,translation,cutout'
    m = ok_json(genbook('train', model, 'mnist', '--out', out, '--resume', '--max-steps', 4, '--device', 'cpu', **c))
    assert m['steps'] == 4 and json.loads((out/'config.json').read_text())['settings']['diffaugment'] == 'color,translation,cutout'
    one_line_error(genbook('train', model, 'mnist', '--out', out, '--resume', '--max-steps', 6, '--device', 'cpu', '--diffaugment', 'color', **c),
                   "trained with diffaugment='color,translation,cutout', not 'color'")
    one_line_error(genbook('train', model, 'mnist', '--out', tmp_path/'bad', '--diffaugment', 'color,flip', **c), "unknown DiffAugment policy 'flip'")
    one_line_error(genbook('train', 'vae', 'mnist', '--out', tmp_path/'vae', '--diffaugment', 'color', **c), '--diffaugment: not an option of the VAE')


def test_ema_generator_samples_unless_raw_is_asked_for(runs, tmp_path):
    "`--ema DECAY` keeps an average generator: recorded, kept on resume, in every checkpoint and export; `sample` uses it unless `--weights raw`."
    out, c = tmp_path/'run', dict(cache=runs/'cache', env=ENV)
    ok_json(genbook('train', 'dcgan', 'mnist', '--out', out, '--max-steps', 2, '--bs', 16, '--device', 'cpu', '--ema', 0.5, **c))
    m = ok_json(genbook('train', 'dcgan', 'mnist', '--out', out, '--resume', '--max-steps', 3, '--device', 'cpu', **c))
    assert m['steps'] == 3 and json.loads((out/'config.json').read_text())['settings']['ema'] == 0.5
    w, _ = Run(out).checkpoint(state=False)
    avg = sorted(k for k in w if k.startswith('G_ema.'))
    assert [k[6:] for k in avg] == sorted(k[2:] for k in w if k.startswith('G.'))
    assert not torch.equal(w['G.0.weight'], w['G_ema.0.weight'])

    def draw(run, *args):
        f = tmp_path/f"{len(list(tmp_path.glob('*.npz')))}.npz"
        ok_json(genbook('sample', run, '--out', f, '--n', 8, '--device', 'cpu', *args, **c))
        return np.load(f)['images']
    ema, raw = draw(out), draw(out, '--weights', 'raw')
    assert not np.array_equal(ema, raw) and np.array_equal(ema, draw(out, '--weights', 'ema'))
    ok_json(genbook('export', out, tmp_path/'shared', **c))
    assert sorted(k for k in read_weights(tmp_path/'shared'/WEIGHTS) if k.startswith('G_ema.')) == avg
    alone = ok_json(genbook('export', out, tmp_path/'alone', '--generator-only', **c))
    assert alone['export'] == dict(steps=3, dtype='float16', parts='generator', generator='ema')
    assert sorted(read_weights(tmp_path/'alone'/WEIGHTS)) == sorted('G.' + k[6:] for k in avg)
    assert np.array_equal(draw(tmp_path/'alone'), draw(tmp_path/'shared'))
    one_line_error(genbook('sample', tmp_path/'alone', '--out', tmp_path/'y.png', '--weights', 'raw', **c), 'holds its EMA generator alone')
    one_line_error(genbook('sample', runs/'dcgan', '--out', tmp_path/'x.png', '--weights', 'ema', **c), 'has no EMA generator (it was trained without --ema)')
    one_line_error(genbook('train', 'dcgan', 'mnist', '--out', tmp_path/'bad', '--ema', 1.5, **c), 'ema must be a decay between 0 and 1')
    one_line_error(genbook('train', 'vae', 'mnist', '--out', tmp_path/'vae', '--ema', 0.9, **c), '--ema: not an option of the VAE')


@pytest.mark.parametrize('model', ['cgan', 'wgan'])
def test_every_gan_keeps_an_average_generator(model, tmp_path):
    "The cGAN and the WGAN-GP average their generator after each of its steps, and sample with the average unless asked for the raw one."
    spec = MODELS[model]
    train_run(spec, 'mnist', tmp_path/'run', max_steps=2, bs=16, data=mnist_sample(), device='cpu', show=False, ema=0.5,
              **(dict(n_critic=1) if model == 'wgan' else {}))
    w, _ = Run(tmp_path/'run').checkpoint(state=False)
    k = next(k[2:] for k in w if k.startswith('G.') and k.endswith('.weight'))
    assert not torch.equal(w['G.' + k], w['G_ema.' + k])
    ema, raw = (sample_run(tmp_path/'run', n=10, device='cpu', weights=x) for x in ('auto', 'raw'))
    assert not torch.equal(ema, raw)
