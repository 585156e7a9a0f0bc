"What `pip install genbook` and a fork get: the wheel carries the licences, its README shows its images on PyPI, and the nbdev workflows test the notebooks and publish the docs."
import re
import subprocess
import sys
import zipfile

import pytest
import yaml

from readme import ROOT, raw_url


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    d = tmp_path_factory.mktemp('wheel')
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(d), str(ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return zipfile.ZipFile(next(d.glob('genbook-*.whl')))


def test_the_wheel_carries_both_licences(wheel):
    names = wheel.namelist()
    lic = [n for n in names if re.search(r'\.dist-info/licenses/LICENSE$', n)]
    assert lic and 'Apache License' in wheel.read(lic[0]).decode() and 'Version 2.0' in wheel.read(lic[0]).decode(), names
    assert any(n.endswith('.dist-info/licenses/genbook/assets/MNIST_LICENSE.txt') for n in names), names
    meta = wheel.read(next(n for n in names if n.endswith('.dist-info/METADATA'))).decode()
    assert 'License-Expression: Apache-2.0' in meta and 'License-File: LICENSE' in meta


def test_the_wheels_readme_shows_its_images(wheel):
    meta = wheel.read(next(n for n in wheel.namelist() if n.endswith('.dist-info/METADATA'))).decode()
    images = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', meta)
    assert images and all(i.startswith(raw_url() + '/') for i in images), images


def test_nbdev_workflows():
    "A fork gets nbdev 3's CI (the notebooks as tests, on every push and pull request) and its documentation site (Quarto to GitHub Pages, from main)."
    test = yaml.safe_load((ROOT/'.github'/'workflows'/'test.yaml').read_text())
    deploy = yaml.safe_load((ROOT/'.github'/'workflows'/'deploy.yaml').read_text())
    on_test, on_deploy = test.get('on', test.get(True)), deploy.get('on', deploy.get(True))   # YAML 1.1 reads a bare `on` as true
    assert {'push', 'pull_request'} <= set(on_test)
    assert test['jobs']['test']['steps'] == [{'uses': 'AnswerDotAI/workflows/nbdev3-ci@master'}]
    assert 'main' in on_deploy['push']['branches'] and deploy['permissions'] == {'contents': 'write', 'pages': 'write'}
    assert deploy['jobs']['deploy']['steps'] == [{'uses': 'AnswerDotAI/workflows/quarto-ghp3@master'}]
