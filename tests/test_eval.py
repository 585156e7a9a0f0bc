"`genbook eval`: scored against the data the run was trained on, found where the run read them, in named feature spaces."
import json

import pytest
import torch

from cli import genbook, ok_json, one_line_error
from genbook.data import mnist_sample, write_idx
from genbook.features import MNIST_CLASSIFIER_SHA256, MnistClassifier, features_id, save_classifier

# No $GENBOOK_DATA and no download: what a user without the environment variable meets.
ENV = {'GENBOOK_DATA': None, 'OMP_NUM_THREADS': '1'}
N_TRAIN, N_TEST = 300, 120


def digits_folder(folder, n_train=N_TRAIN, n_test=N_TEST):
    "A folder of four MNIST IDX files: real digits, fewer of them than MNIST or the embedded sample has."
    s = mnist_sample()
    folder.mkdir(parents=True)
    for part, x, y in (('train', s.train[:n_train], s.train_labels[:n_train]), ('t10k', s.test[:n_test], s.test_labels[:n_test])):
        write_idx(folder/f'{part}-images-idx3-ubyte.gz', x[:, 0].numpy())
        write_idx(folder/f'{part}-labels-idx1-ubyte.gz', y.numpy().astype('uint8'))
    return folder


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A one-step DCGAN trained with --data on a folder of digits."
    d = tmp_path_factory.mktemp('eval')
    folder = digits_folder(d/'digits')
    ok_json(genbook('train', 'dcgan', 'mnist', '--out', d/'run', '--data', folder, '--max-steps', 1, '--bs', 16,
                    '--device', 'cpu', cache=d/'cache', env=ENV))
    return d, d/'run', folder


def evaluate(run_dir, *args, cache, env=ENV):
    return genbook('eval', run_dir, '--n', 64, '--recon-n', 4, '--device', 'cpu', *args, cache=cache, env=env)


def test_eval_finds_the_folder_the_run_was_trained_on(run):
    d, run_dir, folder = run
    r = evaluate(run_dir, cache=d/'cache')
    ev = ok_json(r)
    assert 'embedded' not in r.stderr and 'warning' not in r.stderr, r.stderr
    phases = [l for l in r.stderr.splitlines() if '100.00%' in l]   # each long phase leaves its finished bar: what it did, in how long
    assert any('features of 64 samples' in l for l in phases) and any('inverting the generator' in l for l in phases), r.stderr
    dist = ev['distances']['mnist']
    assert (dist['n_ref'], dist['n'], dist['features_id']) == (N_TEST, 64, features_id(MNIST_CLASSIFIER_SHA256))
    assert ev['classifier']['features_id'] == dist['features_id']
    assert json.loads((run_dir/'eval.json').read_text()) == ev
    for k in ('precision', 'recall', 'density', 'coverage'):  # fidelity and diversity, beside the values of real digits
        assert 0 <= dist[k] <= (5 if k == 'density' else 1) and 0 <= dist[k + '_floor'], (k, dist)
    assert dist['recall_floor'] > dist['recall'] and dist['coverage_floor'] > dist['coverage']  # a one-step DCGAN covers little
    lat = ev['latent']['mnist']  # the smoothness of paths through the latent space
    assert lat['path_ratio'] >= 1 - 1e-9 and lat['path_step'] > 0 and (lat['pairs'], lat['steps']) == (200, 10)


def test_eval_without_the_data_is_one_clear_error(run, tmp_path):
    "The folder gone, and no copy anywhere: an error that names it, never a score against the embedded sample."
    d, run_dir, folder = run
    moved = folder.rename(tmp_path/'elsewhere')
    try:
        one_line_error(evaluate(run_dir, cache=d/'cache'), f'read from {folder}, which no longer exists', 'pass --data')
        other = digits_folder(tmp_path/'data'/'mnist', n_train=200)
        one_line_error(evaluate(run_dir, cache=d/'cache', env={**ENV, 'GENBOOK_DATA': other.parent}), f'n_train = {N_TRAIN}')
        one_line_error(evaluate(run_dir, '--data', other, cache=d/'cache'), f'n_train = {N_TRAIN}')
        ev = ok_json(evaluate(run_dir, '--data', moved, cache=d/'cache'))
        assert ev['distances']['mnist']['n_ref'] == N_TEST
    finally: moved.rename(folder)


def test_a_retrained_classifier_is_another_feature_space(run):
    "Distances in genbook's digit features and in a retrained classifier's sit side by side, each named; never one for the other."
    d, run_dir, _ = run
    cache = d/'cache_retrained'
    one_line_error(evaluate(run_dir, '--features', 'mnist-retrained', cache=cache), 'genbook classifier --force')
    torch.manual_seed(0)
    save_classifier(MnistClassifier(nf=8), {'test_accuracy': 0.1}, cache/'classifier')
    ev = ok_json(evaluate(run_dir, '--features', 'mnist,mnist-retrained', cache=cache))
    ids = {k: v['features_id'] for k, v in ev['distances'].items()}
    rec = json.loads((cache/'classifier'/'mnist_cnn.json').read_text())
    assert ids == {'mnist': features_id(MNIST_CLASSIFIER_SHA256), 'mnist-retrained': rec['features_id']}
    assert ev['distances']['mnist']['fid_floor'] != ev['distances']['mnist-retrained']['fid_floor']
    assert ev['classifier']['features_id'] == ids['mnist']
    fn = cache/'classifier'/'mnist_cnn.safetensors'
    fn.write_bytes(fn.read_bytes()[:-4])
    one_line_error(evaluate(run_dir, '--features', 'mnist-retrained', cache=cache), 'SHA-256 recorded beside it')
    assert json.loads((cache/'classifier'/'mnist_cnn.json').read_text()) == rec  # nothing retrained it


def test_a_run_on_the_embedded_sample_is_scored_on_it(tmp_path):
    "A run trained on the embedded sample may use it, wherever $GENBOOK_DATA points."
    ok_json(genbook('train', 'dcgan', 'mnist', '--out', tmp_path/'run', '--max-steps', 1, '--bs', 16, '--device', 'cpu',
                    cache=tmp_path/'cache', env=ENV))
    other = digits_folder(tmp_path/'data'/'mnist')
    ev = ok_json(evaluate(tmp_path/'run', cache=tmp_path/'cache', env={**ENV, 'GENBOOK_DATA': other.parent}))
    assert ev['distances']['mnist']['n_ref'] == 1000
