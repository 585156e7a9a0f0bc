"Black-box tests of genbook.metrics: distances, the shipped classifier and retrained ones, collapse diagnostics, input checks."
import hashlib
import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch

from cli import genbook, ok_json, one_line_error
from genbook.core import ASSETS, GenbookError
from genbook import features
from genbook.data import mnist_sample
from genbook.features import MNIST_CLASSIFIER_SHA256, ClassifierFeatures, MnistClassifier, classifier_path, extract_features, feature_extractor, features_id, load_classifier, save_classifier, tf_bilinear_resize, train_mnist_classifier
from genbook.metrics import classifier_diagnostics, distances_with_floor, fid_from_features, kid_from_features

# The embedded MNIST sample for the command line, never the full data.
ENV = {'GENBOOK_DATA': None, 'OMP_NUM_THREADS': '1'}
SHIPPED = features_id(MNIST_CLASSIFIER_SHA256)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv('GENBOOK_CACHE', str(tmp_path/'cache'))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path/'cache'
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def sample(): return mnist_sample()


@pytest.fixture(scope='module')
def clf(): return load_classifier(device='cpu')


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


def test_every_distance_names_its_feature_space(sample, random_features):
    "Two untrained classifiers are two feature spaces, even unsaved: their features are never cached under one name."
    torch.manual_seed(1)
    other = ClassifierFeatures(MnistClassifier(nf=8))
    assert random_features.key != other.key and random_features.key.startswith('mnist-')
    a, b = (distances_with_floor(sample.train[:200], sample, ext) for ext in (random_features, other))
    assert (a['features_id'], b['features_id']) == (random_features.key, other.key)
    assert a['fid_floor'] != b['fid_floor']


def test_kid_is_seeded():
    a, b = torch.randn(300, 8), torch.randn(300, 8) + 1
    assert kid_from_features(a, b, seed=3) == kid_from_features(a, b, seed=3)


def test_the_shipped_classifier(sample, clf, cache):
    "genbook's own classifier comes with the package, is checked against the SHA-256 in the code, and is what `mnist` means."
    assert classifier_path() == ASSETS/'mnist_cnn.safetensors'
    rec = json.loads((ASSETS/'mnist_cnn.json').read_text())
    assert rec['sha256'] == MNIST_CLASSIFIER_SHA256 and rec['test_accuracy'] >= 0.993 and rec['n_train'] == 60000
    assert (clf.info['features'], clf.info['features_id'], clf.info['test_accuracy']) == ('mnist', SHIPPED, rec['test_accuracy'])
    assert train_mnist_classifier(sample, device='cpu').info['sha256'] == MNIST_CLASSIFIER_SHA256  # no training without force
    assert feature_extractor('mnist', 'cpu').key == SHIPPED
    assert not (cache/'classifier').exists()
    with torch.no_grad(): acc = (clf(sample.test.float() / 255).argmax(1) == sample.test_labels).double().mean().item()
    assert acc > 0.99, acc


def test_a_changed_shipped_classifier_is_refused(tmp_path, monkeypatch):
    "Weights that differ from the shipped ones are refused, even with a record that matches them; nothing is retrained."
    assets = Path(shutil.copytree(ASSETS, tmp_path/'assets'))
    monkeypatch.setattr(features, 'ASSETS', assets)
    fn = assets/'mnist_cnn.safetensors'
    b = bytearray(fn.read_bytes()); b[len(b)//2] ^= 0x01; fn.write_bytes(bytes(b))
    with pytest.raises(GenbookError, match='SHA-256 genbook ships it with.*reinstall genbook'): load_classifier(device='cpu')
    rec = json.loads((assets/'mnist_cnn.json').read_text())
    (assets/'mnist_cnn.json').write_text(json.dumps(dict(rec, sha256=hashlib.sha256(fn.read_bytes()).hexdigest())))
    with pytest.raises(GenbookError, match='reinstall genbook'): feature_extractor('mnist', 'cpu')
    one_line_error(genbook('classifier', '--device', 'cpu', cache=tmp_path/'cache', env=ENV), 'reinstall genbook')
    fn.unlink()
    one_line_error(genbook('classifier', '--device', 'cpu', cache=tmp_path/'cache', env=ENV), 'no digit classifier', 'reinstall genbook')
    assert not (tmp_path/'cache'/'classifier').exists()


def test_corrupt_classifier_is_refused(tmp_path):
    torch.manual_seed(0)
    fn = save_classifier(MnistClassifier(nf=8), {'test_accuracy': 0.1}, tmp_path)
    assert load_classifier(tmp_path, 'cpu').nf == 8
    b = bytearray(fn.read_bytes())
    b[len(b)//2] ^= 0x01
    fn.write_bytes(bytes(b))
    with pytest.raises(GenbookError, match='SHA-256 recorded beside it'): load_classifier(tmp_path, 'cpu')
    fn.unlink()
    with pytest.raises(GenbookError, match='no digit classifier'): load_classifier(tmp_path, 'cpu')


def test_corrupt_retrained_classifier_is_retrained(sample, cache):
    "A retrained classifier lives in its folder; one that no longer matches its record is trained again there, with a warning."
    first = train_mnist_classifier(sample, epochs=1, nf=8, device='cpu', force=True)
    assert (first.info['features'], classifier_path(cache/'classifier').is_file()) == ('mnist-retrained', True)
    assert first.info['features_id'] == feature_extractor('mnist-retrained', 'cpu').key != SHIPPED
    fn = classifier_path(cache/'classifier')
    fn.write_bytes(fn.read_bytes()[:-8])
    with pytest.raises(GenbookError, match='SHA-256 recorded'): feature_extractor('mnist-retrained', 'cpu')
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        again = train_mnist_classifier(sample, epochs=1, nf=8, device='cpu', folder=cache/'classifier')
    assert any('SHA-256' in str(x.message) for x in w)
    assert load_classifier(cache/'classifier', 'cpu').info['sha256'] == again.info['sha256']


def test_diagnostics_see_a_collapse(sample, clf):
    "A sample that is one digit over and over is flagged; a partial collapse names its missing digits; real digits are not flagged."
    real = classifier_diagnostics(sample.test, clf)
    sevens = sample.test[sample.test_labels == 7]
    one = classifier_diagnostics(sevens.repeat(10, 1, 1, 1)[:1000], clf)
    three = classifier_diagnostics(sample.test[sample.test_labels < 3], clf)
    assert abs(sum(real['label_hist']) - 1) < 1e-4 and abs(sum(one['label_hist']) - 1) < 1e-4
    # real test digits: 100 of each class, every one seen about 10% of the time
    assert (real['mode_collapse'], real['missing_digits']) == (False, [])
    assert real['label_entropy'] > 0.98 * real['label_entropy_max'] and max(real['label_hist']) < 0.12
    assert real['classifier_score'] > 9 and real['mean_confidence'] > 0.97
    # one digit: the histogram on 7, the entropy far below the real digits', nine digits missing
    assert one['mode_collapse'] and one['label_hist'][7] > 0.97 and max(one['label_hist'][:7] + one['label_hist'][8:]) < 0.02
    assert one['missing_digits'] == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    assert one['label_entropy'] < 0.1 * real['label_entropy'] and one['classifier_score'] < 1.2
    # three digits: the seven others missing, entropy near log 3
    assert three['missing_digits'] == [3, 4, 5, 6, 7, 8, 9] and three['mode_collapse']
    assert abs(three['label_entropy'] - torch.log(torch.tensor(3.)).item()) < 0.05 and 2.7 < three['classifier_score'] < 3.05


def test_bad_inputs_give_clear_errors(sample, random_features):
    with pytest.raises(GenbookError, match='uint8'): extract_features(sample.test.float(), random_features)
    with pytest.raises(GenbookError, match='28x28'): extract_features(torch.zeros(2, 3, 64, 64, dtype=torch.uint8), random_features)
    with pytest.raises(GenbookError, match='same d'): fid_from_features(torch.randn(5, 4), torch.randn(5, 3))
    with pytest.raises(GenbookError, match='shape'):
        distances_with_floor(torch.zeros(4, 3, 64, 64, dtype=torch.uint8), sample, random_features)
    with pytest.raises(GenbookError, match='genbook classifier --force'): feature_extractor('mnist-retrained', 'cpu')


def test_resize_matches_fid_helper():
    helper = pytest.importorskip('fid_helper_pytorch._resample_func')
    x = torch.rand(2, 3, 28, 28) * 255
    assert torch.allclose(tf_bilinear_resize(x, 299), helper.nv_bilinear(x, (299, 299)), atol=1e-3)


def test_classifier_command_reports_the_shipped_one_and_force_retrains(tmp_path):
    "`genbook classifier` reports genbook's own classifier; --force trains another into the cache, a feature space of its own."
    own = ok_json(genbook('classifier', '--device', 'cpu', cache=tmp_path, env=ENV))
    assert (own['sha256'], own['features'], own['features_id']) == (MNIST_CLASSIFIER_SHA256, 'mnist', SHIPPED)
    assert own['n_train'] == 60000 and own['test_accuracy'] >= 0.993
    assert Path(own['path']) == ASSETS/'mnist_cnn.safetensors' and not (tmp_path/'classifier').exists()
    forced = ok_json(genbook('classifier', '--epochs', '1', '--force', '--device', 'cpu', cache=tmp_path, env=ENV))
    assert (forced['features'], forced['data'], forced['n_test']) == ('mnist-retrained', 'embedded', 1000)
    assert 0.5 < forced['test_accuracy'] <= 1 and forced['sha256'] != MNIST_CLASSIFIER_SHA256
    assert Path(forced['path']) == tmp_path/'classifier'/'mnist_cnn.safetensors'
    rec = json.loads((tmp_path/'classifier'/'mnist_cnn.json').read_text())
    assert (rec['sha256'], rec['features_id']) == (forced['sha256'], forced['features_id']) == (rec['sha256'], features_id(rec['sha256']))
    again = ok_json(genbook('classifier', '--device', 'cpu', cache=tmp_path, env=ENV))
    assert again == own
