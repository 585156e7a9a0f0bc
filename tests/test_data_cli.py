"`genbook data` on real data, on the embedded sample, and on every kind of bad input."
import gzip
import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli import SHARED, genbook, ok_json, one_line_error

MNIST = SHARED/'mnist'
ANIME_ZIP = SHARED/'anime'/'anime_faces_64.zip'
needs_mnist = pytest.mark.skipif(not (MNIST/'train-images-idx3-ubyte.gz').exists(), reason=f'real MNIST not found at {MNIST}')
needs_anime = pytest.mark.skipif(not ANIME_ZIP.exists(), reason=f'anime faces not found at {ANIME_ZIP}')


def idx_bytes(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a, dtype=np.uint8)
    return bytes([0, 0, 8, a.ndim]) + struct.pack(f'>{a.ndim}I', *a.shape) + a.tobytes()


def fake_mnist(folder, n_train=50, n_test=20, gz=True):
    "A folder of four small, valid MNIST IDX files."
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for part, n in (('train', n_train), ('t10k', n_test)):
        for kind, a in (('images-idx3', rng.integers(0, 256, (n, 28, 28))), ('labels-idx1', rng.integers(0, 10, n))):
            b = idx_bytes(a)
            name = f'{part}-{kind}-ubyte'
            if gz: (folder/f'{name}.gz').write_bytes(gzip.compress(b))
            else: (folder/name).write_bytes(b)
    return folder


def png(mode='RGB', size=(64, 64), color=0) -> bytes:
    b = io.BytesIO()
    Image.new(mode, size, color).save(b, format='PNG')
    return b.getvalue()


def make_zip(path, members: dict):
    with zipfile.ZipFile(path, 'w') as z:
        for name, data in members.items(): z.writestr(name, data)
    return path


# --- real data ---------------------------------------------------------------------------------

@needs_mnist
def test_real_mnist_counts(tmp_path):
    s = ok_json(genbook('data', 'mnist', '--data', MNIST, cache=tmp_path))
    assert (s['n_train'], s['n_test'], s['shape'], s['source']) == (60000, 10000, [1, 28, 28], 'path')


@needs_anime
def test_real_anime_zip_counts_and_cache(tmp_path):
    first = ok_json(genbook('data', 'anime', '--data', ANIME_ZIP, cache=tmp_path))
    assert first['n_train'] + first['n_test'] == 22969
    assert (first['shape'], first['source']) == ([3, 64, 64], 'path')
    second = ok_json(genbook('data', 'anime', '--data', ANIME_ZIP, cache=tmp_path))
    assert second['source'] == 'cache' and second['n_test'] == first['n_test']


def test_embedded_sample_when_no_data(tmp_path):
    r = genbook('data', 'mnist', cache=tmp_path, env={'GENBOOK_DATA': ''})
    s = ok_json(r)
    assert (s['n_train'], s['n_test'], s['source']) == (6000, 1000, 'embedded')
    assert 'embedded sample' in r.stderr


def test_mnist_from_cache_folder(tmp_path):
    fake_mnist(tmp_path/'mnist', gz=False)
    s = ok_json(genbook('data', 'mnist', cache=tmp_path, env={'GENBOOK_DATA': ''}))
    assert (s['n_train'], s['n_test'], s['source']) == (50, 20, 'cache')


# --- bad MNIST ---------------------------------------------------------------------------------

def test_missing_folder(tmp_path):
    one_line_error(genbook('data', 'mnist', '--data', tmp_path/'nope'), 'does not exist', 'nope')


def test_empty_folder(tmp_path):
    (tmp_path/'empty').mkdir()
    one_line_error(genbook('data', 'mnist', '--data', tmp_path/'empty'), 'lacks train-images-idx3-ubyte')


def test_truncated_idx(tmp_path):
    d = fake_mnist(tmp_path/'m', gz=False)
    f = d/'train-images-idx3-ubyte'
    f.write_bytes(f.read_bytes()[:-100])
    one_line_error(genbook('data', 'mnist', '--data', d), 'train-images-idx3-ubyte is truncated', 'download it again')


def test_truncated_gzip(tmp_path):
    d = fake_mnist(tmp_path/'m')
    f = d/'t10k-images-idx3-ubyte.gz'
    f.write_bytes(f.read_bytes()[:200])
    one_line_error(genbook('data', 'mnist', '--data', d), 't10k-images-idx3-ubyte.gz is not a valid gzip file')


def test_wrong_magic(tmp_path):
    d = fake_mnist(tmp_path/'m', gz=False)
    (d/'train-labels-idx1-ubyte').write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(50))
    one_line_error(genbook('data', 'mnist', '--data', d), 'train-labels-idx1-ubyte is not an IDX file')


def test_images_and_labels_swapped(tmp_path):
    d = fake_mnist(tmp_path/'m', gz=False)
    a, b = d/'train-images-idx3-ubyte', d/'train-labels-idx1-ubyte'
    ab, bb = a.read_bytes(), b.read_bytes()
    a.write_bytes(bb); b.write_bytes(ab)
    one_line_error(genbook('data', 'mnist', '--data', d), 'dimensions where 3 were expected')


def test_count_mismatch(tmp_path):
    d = fake_mnist(tmp_path/'m', gz=False)
    (d/'train-labels-idx1-ubyte').write_bytes(idx_bytes(np.zeros(49)))
    one_line_error(genbook('data', 'mnist', '--data', d), '50 images but train-labels-idx1-ubyte has 49 labels')


# --- bad anime ---------------------------------------------------------------------------------

def test_anime_zip_without_images(tmp_path):
    z = make_zip(tmp_path/'a.zip', {'readme.txt': 'no faces here'})
    one_line_error(genbook('data', 'anime', '--data', z, cache=tmp_path/'c'), 'holds no images')


def test_anime_empty_folder(tmp_path):
    (tmp_path/'faces').mkdir()
    one_line_error(genbook('data', 'anime', '--data', tmp_path/'faces', cache=tmp_path/'c'), 'holds no images')


def test_anime_zip_slip(tmp_path):
    z = make_zip(tmp_path/'a.zip', {'images/1.png': png(), '../../etc/evil.png': png()})
    one_line_error(genbook('data', 'anime', '--data', z, cache=tmp_path/'c'), 'escapes the archive', 'evil.png')
    assert not (tmp_path.parent.parent/'etc'/'evil.png').exists()


def test_anime_not_a_zip(tmp_path):
    (tmp_path/'a.zip').write_bytes(b'this is not a zip')
    one_line_error(genbook('data', 'anime', '--data', tmp_path/'a.zip', cache=tmp_path/'c'), 'not a readable zip file')


def test_anime_some_undecodable(tmp_path):
    members = {f'images/{i}.png': png(color=(i, i, i)) for i in range(9)}
    members['images/bad.jpg'] = b'\xff\xd8\xff garbage'
    members['images/grey.png'] = png('L', color=128)
    members['images/rgba.png'] = png('RGBA', color=(0, 255, 0, 128))
    r = genbook('data', 'anime', '--data', make_zip(tmp_path/'a.zip', members), cache=tmp_path/'c')
    s = ok_json(r)
    assert s['n_train'] + s['n_test'] == 11 and s['shape'] == [3, 64, 64]
    assert 'skipped 1 of 12 images' in r.stderr and 'bad.jpg' in r.stderr


def test_anime_all_undecodable(tmp_path):
    z = make_zip(tmp_path/'a.zip', {f'images/{i}.jpg': b'junk' for i in range(5)})
    one_line_error(genbook('data', 'anime', '--data', z, cache=tmp_path/'c'), 'none of the 5 images')


def test_anime_tiny_image(tmp_path):
    z = make_zip(tmp_path/'a.zip', {'images/ok.png': png(), 'images/tiny.png': png(size=(8, 8))})
    one_line_error(genbook('data', 'anime', '--data', z, cache=tmp_path/'c'), 'tiny.png is 8x8')


def test_anime_not_found(tmp_path):
    one_line_error(genbook('data', 'anime', cache=tmp_path, env={'GENBOOK_DATA': ''}), 'anime faces not found', 'kaggle')


# --- the command line itself -----------------------------------------------------------------------

@pytest.mark.parametrize('cmd', [[], ['data'], ['train'], ['sample'], ['latent'], ['eval'], ['classifier'], ['export'], ['compare']])
def test_help(cmd):
    r = genbook(*cmd, '--help')
    assert r.returncode == 0 and 'usage: genbook' in r.stdout and len(r.stdout.splitlines()) > 5


@pytest.mark.parametrize('args,msg', [
    (['nosuch'], "invalid choice: 'nosuch'"),
    (['data', 'cifar'], "invalid choice: 'cifar'"),
    (['data'], 'the following arguments are required: dataset'),
    (['train', 'vae', 'mnist', '--out', 'x', '--bs', '-3'], 'must be a positive integer'),
    (['train', 'gan', 'mnist', '--out', 'x'], "invalid choice: 'gan'"),
    (['train', 'dcgan', 'mnist', '--out', 'x', '--lr', 'nan'], 'must be a positive number'),
    (['data', 'anime', '--size', 'big'], "invalid int value: 'big'"),
    (['train', 'vae', 'mnist', '--out', 'x', '--channels-last', '--beta1', '0.5'], '--beta1, --channels-last: not options of the VAE'),
    (['train', 'dcgan', 'mnist', '--out', 'x', '--precision', 'fp16'], "invalid choice: 'fp16'"),
    (['train', 'dcgan', 'mnist', '--out', 'x', '--latent', '2'], '--latent: not an option of the DCGAN'),
    (['train', 'dcgan', 'mnist', '--out', 'x', '--start-from', 'no/such/run'], 'is not a genbook run'),
    (['train', 'vae', 'anime', '--out', 'x', '--binarize', 'static'], "binarisation is for MNIST's digits"),
    (['train', 'vae', 'mnist', '--out', 'x', '--sched', 'cosine'], "invalid choice: 'cosine'"),
])
def test_bad_arguments_one_line(args, msg):
    one_line_error(genbook(*args), msg)


def test_a_failed_mnist_download_is_tried_once_and_leaves_no_empty_folder(tmp_path, monkeypatch):
    "Without MNIST and without a network: one download try, then the embedded sample, with how to try again; later commands do not try again."
    import torchvision.datasets
    tries = []
    class NoNetwork:
        def __init__(self, root, train=True, download=False):
            tries.append(root); (Path(root)/'MNIST'/'raw').mkdir(parents=True, exist_ok=True)   # as torchvision does, before it fails
            raise RuntimeError('Error downloading train-images-idx3-ubyte.gz: no network')
    monkeypatch.setattr(torchvision.datasets, 'MNIST', NoNetwork)
    env = {'GENBOOK_OFFLINE': None, 'GENBOOK_DATA': None}
    first = genbook('data', 'mnist', cache=tmp_path, env=env)
    assert ok_json(first)['source'] == 'embedded' and len(tries) == 1
    warning = [l for l in first.stderr.splitlines() if 'warning' in l]
    assert len(warning) == 1 and 'no network' in warning[0] and 'to try again, delete' in warning[0], first.stderr
    assert [p.name for p in tmp_path.iterdir()] == ['mnist_download_failed.txt'], 'an empty folder left behind'
    second = genbook('data', 'mnist', cache=tmp_path, env=env)
    assert ok_json(second)['source'] == 'embedded' and len(tries) == 1, 'the download was tried again'
    assert 'to try again, delete' in second.stderr
    (tmp_path/'mnist_download_failed.txt').unlink()
    genbook('data', 'mnist', cache=tmp_path, env=env)
    assert len(tries) == 2


def test_reading_a_data_set_leaves_stdout_to_the_script(tmp_path):
    "A script that loads the faces keeps its stdout: genbook's progress bar is drawn on stderr."
    import subprocess, sys
    from cli import process_env
    faces = tmp_path/'faces.zip'
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(faces, 'w') as z:
        for i in range(40):
            b = io.BytesIO(); Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(b, 'JPEG'); z.writestr(f'{i}.jpg', b.getvalue())
    code = f"from genbook.data import load_anime\nprint('faces', len(load_anime({str(faces)!r}).train) + len(load_anime({str(faces)!r}).test))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=process_env(tmp_path/'cache'))
    assert r.returncode == 0 and r.stdout == 'faces 40\n', (r.stdout, r.stderr[-1000:])
    assert 'decoding images' in r.stderr
