"The shipped `pretrained/` folders: each loads and samples as a run does, names no path, stays small, and is checked against the data; the `records/` folders hold runs' records without weights."
import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from cli import ROOT, genbook, ok_json, one_line_error
from genbook.core import ASSETS
from genbook.data import mnist_sample, write_idx
from genbook.evaluate import DEFAULT_FEATURES
from genbook.features import MNIST_CLASSIFIER_SHA256, features_id
from genbook.models import MODELS, load_run, sample_run
from genbook.run import WEIGHTS, Run

PRETRAINED, RECORDS = ROOT/'pretrained', ROOT/'records'
FOLDERS = sorted(p for p in PRETRAINED.iterdir() if p.is_dir()) if PRETRAINED.is_dir() else []
RECORDED = sorted(p for p in RECORDS.iterdir() if p.is_dir()) if RECORDS.is_dir() else []
REPORT = ('dcgan_mnist', 'vae_mnist', 'dcgan_anime', 'vae_anime')


def test_the_report_runs_are_there():
    assert {p.name for p in FOLDERS} >= {'dcgan_mnist', 'dcgan_anime', 'vae_anime'}, [p.name for p in FOLDERS]


def test_under_50_mb():
    size = sum(f.stat().st_size for f in PRETRAINED.rglob('*') if f.is_file())
    assert size < 50e6, size


@pytest.mark.parametrize('run', FOLDERS, ids=lambda p: p.name)
def test_loads_and_samples(run):
    cfg = Run(run).config
    model, _, _ = load_run(run, 'cpu')
    x = sample_run(run, n=4, seed=0, device='cpu')
    assert x.dtype == torch.uint8 and list(x.shape[1:]) == cfg['image_shape'], x.shape
    assert x.float().std() > 1, 'blank samples'
    w, _ = Run(run).checkpoint(state=False)
    assert {v.dtype for v in w.values() if v.is_floating_point()} == {torch.float32}
    assert cfg['export']['steps'] == Run(run).steps() == json.loads((run/'metrics.json').read_text())['steps']
    m = json.loads((run/'metrics.json').read_text())
    assert m['epochs'] == cfg['epochs'] and m['stopped'] == 'finished', 'a shipped run finished its budget'
    if run.name in REPORT: assert cfg['epochs'] == 50, "the report's budget"


@pytest.mark.parametrize('run', FOLDERS, ids=lambda p: p.name)
def test_names_no_path_of_the_training_machine(run):
    for f in ('config.json', 'metrics.json', 'eval.json'):
        if not (run/f).exists(): continue
        text = (run/f).read_text()
        assert not re.search(r'"(/|[A-Za-z]:\\\\)[^"]*"', text), (f, re.findall(r'"/[^"]*"', text)[:3])
    ident = Run(run).config['data_id']
    assert set(ident) == {'dataset', 'n_train', 'n_test', 'shape', 'sha256'}


@pytest.mark.parametrize('run', [p for p in FOLDERS if (p/'eval.json').exists() and Run(p).config['dataset'] == 'mnist'], ids=lambda p: p.name)
def test_digit_scores_are_in_the_shipped_feature_space(run):
    "The MNIST runs' distances were computed with the classifier genbook ships: its accuracy, and its features_id where recorded."
    ev, rec = json.loads((run/'eval.json').read_text()), json.loads((ASSETS/'mnist_cnn.json').read_text())
    assert ev['classifier']['test_accuracy'] == rec['test_accuracy'], (ev['classifier'], rec)
    for k, d in ev['distances'].items():
        if k == 'mnist': assert d.get('features_id', features_id(MNIST_CLASSIFIER_SHA256)) == features_id(MNIST_CLASSIFIER_SHA256)
    assert ev['classifier'].get('features_id', features_id(MNIST_CLASSIFIER_SHA256)) == features_id(MNIST_CLASSIFIER_SHA256)


def test_cannot_be_resumed(tmp_path):
    run = Path(shutil.copytree(PRETRAINED/'dcgan_mnist', tmp_path/'run'))
    one_line_error(genbook('train', 'dcgan', 'mnist', '--out', run, '--resume', '--device', 'cpu', cache=tmp_path), 'nothing to resume')


def test_sample_command(tmp_path):
    out = ok_json(genbook('sample', PRETRAINED/'dcgan_mnist', '--n', '9', '--out', tmp_path/'s.png', '--device', 'cpu', cache=tmp_path))
    assert out['n'] == 9 and (tmp_path/'s.png').stat().st_size > 0


def test_eval_refuses_other_data(tmp_path):
    "The embedded 7,000 digits are not the 70,000 the run was trained on: one clear error, before any scoring."
    d = tmp_path/'mnist'; d.mkdir()
    s = mnist_sample()
    for part, x, y in (('train', s.train, s.train_labels), ('t10k', s.test, s.test_labels)):
        write_idx(d/f'{part}-images-idx3-ubyte.gz', x[:, 0].numpy())
        write_idx(d/f'{part}-labels-idx1-ubyte.gz', y.numpy().astype('uint8'))
    one_line_error(genbook('eval', PRETRAINED/'dcgan_mnist', '--data', d, '--n', '16', '--device', 'cpu', cache=tmp_path), 'n_train = 60000')


def test_missing_or_corrupt_weights(tmp_path):
    run = Path(shutil.copytree(PRETRAINED/'vae_anime', tmp_path/'run'))
    (run/WEIGHTS).write_bytes(b'\0' * 100)
    one_line_error(genbook('sample', run, '--out', tmp_path/'s.png', '--device', 'cpu', cache=tmp_path), 'corrupt')
    (run/WEIGHTS).unlink()
    one_line_error(genbook('sample', run, '--out', tmp_path/'s.png', '--device', 'cpu', cache=tmp_path), 'no checkpoint')


@pytest.mark.parametrize('run', RECORDED, ids=lambda p: p.name)
def test_records_are_whole_and_name_no_path(run, tmp_path):
    "A records folder: config, metrics, evaluation, history and the last grid, finished and evaluated; no weights, no path; sampling says why not."
    cfg, m, ev = (json.loads((run/f).read_text()) for f in ('config.json', 'metrics.json', 'eval.json'))
    assert cfg['export'] == {'steps': m['steps'], 'weights': False} and m['stopped'] == 'finished' and ev['steps'] == m['steps']
    assert not (run/WEIGHTS).exists() and not (run/'checkpoints').exists() and list((run/'samples').glob('*.png'))
    for f in ('config.json', 'metrics.json', 'eval.json'):
        assert not re.search(r'"(/|[A-Za-z]:\\\\)[^"]*"', (run/f).read_text()), f
    one_line_error(genbook('sample', run, '--out', tmp_path/'s.png', '--device', 'cpu', cache=tmp_path), 'records without its weights')


@pytest.mark.parametrize('run', FOLDERS + RECORDED, ids=lambda p: f'{p.parent.name}/{p.name}')
def test_every_shipped_run_carries_the_measured_columns(run):
    "What the comparison reads for every model, old and new: fidelity and diversity beside their floors, path smoothness and reconstruction, in one feature space."
    ev = json.loads((run/'eval.json').read_text())
    assert ev['run'] == run.name, (ev['run'], run.name)
    feat = DEFAULT_FEATURES[ev['dataset']][0]
    d = ev['distances'][feat]
    for k in ('precision', 'recall', 'density', 'coverage'):
        assert 0 <= d[k] and 0 <= d[f'{k}_floor'], (k, d.get(k), d.get(f'{k}_floor'))
        if k != 'density': assert d[k] <= 1 and d[f'{k}_floor'] <= 1, k
    assert (d['k_pr'], d['k_dc']) == (3, 5)
    assert ev['latent'][feat]['path_step'] > 0 and ev['latent'][feat]['pairs'] >= 100
    r = ev['reconstruction']
    assert r['method'] == ('encoder' if MODELS[Run(run).config['model']].kind == 'vae' else 'inversion'), r['method']
    assert 0 < r['mse'] < r['mse_unrelated'] and r['features'][feat]['dist'] > 0, r
