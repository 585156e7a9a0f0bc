"Black-box tests of genbook.metrics: distances, the cached classifier's checksum, input checks."
import warnings
from pathlib import Path

import pytest
import torch

from cli import genbook, ok_json
from genbook.core import GenbookError
from genbook.data import mnist_sample
from genbook.metrics import (ClassifierFeatures, MnistClassifier, classifier_diagnostics, classifier_path,
                             distances_with_floor, extract_features, fid_from_features, kid_from_features,
                             load_classifier, save_classifier, tf_bilinear_resize, train_mnist_classifier)

# The embedded MNIST sample for the command line, never the full data.
ENV = {'GENBOOK_DATA': '', 'OMP_NUM_THREADS': '1'}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv('GENBOOK_CACHE', str(tmp_path/'cache'))
    torch.set_num_threads(1)
    return tmp_path/'cache'


@pytest.fixture(scope='module')
def sample(): return mnist_sample()


@pytest.fixture
def random_features():
    torch.manual_seed(0)
    return ClassifierFeatures(MnistClassifier(nf=8))


def test_fid_of_a_set_with_itself_is_zero_and_noise_is_far(sample, random_features):
    f = extract_features(sample.test, random_features)
    assert fid_from_features(f, f) < 1e-6
    noise = torch.randint(0, 256, (1000, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    res = distances_with_floor(noise, sample, random_features)
    assert res['fid'] > 10 * res['fid_floor']
    assert res['kid'] > res['kid_floor'] + 3 * res['kid_std']
    real = distances_with_floor(sample.train[-1000:], sample, random_features)
    assert real['fid'] < 0.1 * res['fid']  # an untrained feature net separates less than a trained one, but an order of magnitude


def test_kid_is_seeded():
    a, b = torch.randn(300, 8), torch.randn(300, 8) + 1
    assert kid_from_features(a, b, seed=3) == kid_from_features(a, b, seed=3)


def test_corrupt_classifier_is_refused(tmp_path):
    torch.manual_seed(0)
    fn = save_classifier(MnistClassifier(nf=8), {'test_accuracy': 0.1}, tmp_path)
    assert load_classifier(tmp_path, 'cpu').nf == 8
    b = bytearray(fn.read_bytes())
    b[len(b)//2] ^= 0x01
    fn.write_bytes(bytes(b))
    with pytest.raises(GenbookError, match='SHA-256'): load_classifier(tmp_path, 'cpu')
    fn.unlink()
    with pytest.raises(GenbookError, match='no MNIST classifier'): load_classifier(tmp_path, 'cpu')


def test_corrupt_cache_is_retrained(sample, cache):
    train_mnist_classifier(sample, epochs=1, nf=8, device='cpu')
    fn = classifier_path()
    fn.write_bytes(fn.read_bytes()[:-8])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        clf = train_mnist_classifier(sample, epochs=1, nf=8, device='cpu')
    assert any('SHA-256' in str(x.message) for x in w)
    assert load_classifier(device='cpu').info['sha256'] == clf.info['sha256']


def test_diagnostics_see_a_collapse(sample, random_features):
    d = classifier_diagnostics(sample.test[:200], random_features.clf)
    assert abs(sum(d['label_hist']) - 1) < 1e-4
    assert 1 <= d['classifier_score'] <= 10 and 0 <= d['label_entropy'] <= d['label_entropy_max'] + 1e-9


def test_bad_inputs_give_clear_errors(sample, random_features):
    with pytest.raises(GenbookError, match='uint8'): extract_features(sample.test.float(), random_features)
    with pytest.raises(GenbookError, match='28x28'): extract_features(torch.zeros(2, 3, 64, 64, dtype=torch.uint8), random_features)
    with pytest.raises(GenbookError, match='same d'): fid_from_features(torch.randn(5, 4), torch.randn(5, 3))
    with pytest.raises(GenbookError, match='shape'):
        distances_with_floor(torch.zeros(4, 3, 64, 64, dtype=torch.uint8), sample, random_features)


def test_resize_matches_fid_helper():
    helper = pytest.importorskip('fid_helper_pytorch._resample_func')
    x = torch.rand(2, 3, 28, 28) * 255
    assert torch.allclose(tf_bilinear_resize(x, 299), helper.nv_bilinear(x, (299, 299)), atol=1e-3)


def test_classifier_command_trains_then_checks(tmp_path):
    "`genbook classifier` trains and caches the classifier once, a second call only checks it, --force retrains, a corrupt one is retrained."
    first = ok_json(genbook('classifier', '--epochs', '1', '--device', 'cpu', cache=tmp_path, env=ENV))
    assert first['data'] == 'embedded' and first['n_test'] == 1000 and 0.5 < first['test_accuracy'] <= 1
    assert Path(first['path']).is_file() and Path(first['path']).is_relative_to(tmp_path)
    again = ok_json(genbook('classifier', '--device', 'cpu', cache=tmp_path, env=ENV))
    assert (again['sha256'], again['train_seconds']) == (first['sha256'], first['train_seconds'])
    forced = ok_json(genbook('classifier', '--epochs', '1', '--seed', '1', '--force', '--device', 'cpu', cache=tmp_path, env=ENV))
    assert forced['seed'] == 1 and forced['sha256'] != first['sha256']
    Path(first['path']).write_bytes(b'not weights')
    r = genbook('classifier', '--epochs', '1', '--device', 'cpu', cache=tmp_path, env=ENV)
    assert 'SHA-256' in r.stderr and ok_json(r)['sha256'] != forced['sha256']
