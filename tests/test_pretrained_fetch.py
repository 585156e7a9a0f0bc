"`genbook pretrained`: the release files are the repository's `pretrained/` folders, byte for byte; a fetch from a server (here a local one) is checked against the SHA-256 the package ships and unpacks a run every command reads; a changed file, a missing server and a file that reaches outside its folder are each one clear line."
import functools
import http.server
import json
import threading
import zipfile

import pytest

from cli import ROOT, genbook, ok_json, one_line_error
from genbook import pretrained
from genbook.pretrained import PRETRAINED, pack_run, sha256

MANIFEST = json.loads(PRETRAINED.read_text())


@pytest.mark.parametrize('name', sorted(MANIFEST['runs']))
def test_the_shipped_hashes_are_the_pretrained_folders(name, tmp_path):
    "After changing a folder of pretrained/, run genbook.pretrained.write_manifest (and publish the files)."
    z = pack_run(ROOT/'pretrained'/name, tmp_path/f'{name}.zip')
    assert (sha256(z), z.stat().st_size) == (MANIFEST['runs'][name]['sha256'], MANIFEST['runs'][name]['bytes'])


@pytest.fixture
def server(tmp_path):
    "A local HTTP server of a release folder; yields (folder, url)."
    folder = tmp_path/'release'; folder.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield folder, f'http://127.0.0.1:{srv.server_address[1]}'
    srv.shutdown()


def test_fetch_from_the_release_and_use_it(server, tmp_path):
    folder, url = server
    pack_run(ROOT/'pretrained'/'vae_mnist', folder/'vae_mnist.zip')
    env = {'GENBOOK_PRETRAINED_URL': url}
    assert 'vae_mnist' in ok_json(genbook('pretrained', env=env))['runs']
    r = ok_json(genbook('pretrained', 'vae_mnist', '--out', tmp_path/'run', env=env))
    assert (r['model'], r['steps']) == ('vae', json.loads((ROOT/'pretrained'/'vae_mnist'/'config.json').read_text())['export']['steps'])
    for f in (ROOT/'pretrained'/'vae_mnist').rglob('*'):
        if f.is_file(): assert (tmp_path/'run'/f.relative_to(ROOT/'pretrained'/'vae_mnist')).read_bytes() == f.read_bytes(), f
    ok_json(genbook('sample', tmp_path/'run', '--out', tmp_path/'s.png', '--n', 4, '--device', 'cpu'))
    one_line_error(genbook('pretrained', 'vae_mnist', '--out', tmp_path/'run', env=env), 'already exists')
    ok_json(genbook('pretrained', 'vae_mnist', '--out', tmp_path/'again', '--file', folder/'vae_mnist.zip', env={'GENBOOK_PRETRAINED_URL': 'http://127.0.0.1:9'}))


def test_a_changed_file_a_missing_server_and_a_bad_name_are_one_line(server, tmp_path):
    folder, url = server
    pack_run(ROOT/'pretrained'/'vae_mnist', folder/'vae_mnist.zip')
    with zipfile.ZipFile(folder/'vae_mnist.zip', 'a') as z: z.writestr('vae_mnist/extra.txt', 'changed')
    one_line_error(genbook('pretrained', 'vae_mnist', '--out', tmp_path/'run', env={'GENBOOK_PRETRAINED_URL': url}), 'is not the file genbook ships the SHA-256 of')
    one_line_error(genbook('pretrained', 'vae_mnist', '--out', tmp_path/'run', env={'GENBOOK_PRETRAINED_URL': 'http://127.0.0.1:9'}), 'cannot download', '--file')
    one_line_error(genbook('pretrained', 'dcgan_cifar', '--out', tmp_path/'run'), "no pretrained run 'dcgan_cifar'")
    one_line_error(genbook('pretrained', 'vae_mnist'), '--out DIR')
    assert [p.name for p in tmp_path.iterdir()] == ['release'], 'nothing left behind'


def test_a_file_reaching_outside_its_folder_is_refused(tmp_path, monkeypatch):
    evil = tmp_path/'evil.zip'
    with zipfile.ZipFile(evil, 'w') as z: z.writestr('../outside.txt', 'x')
    monkeypatch.setattr(pretrained, '_manifest', lambda: dict(base_url='', runs={'evil': dict(file='evil.zip', bytes=evil.stat().st_size, sha256=sha256(evil))}))
    one_line_error(genbook('pretrained', 'evil', '--out', tmp_path/'run', '--file', evil), 'outside its run folder')
    assert not (tmp_path/'outside.txt').exists() and not (tmp_path/'run').exists()
