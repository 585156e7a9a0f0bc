"README.md says what nbs/index.ipynb says, and its two set-up commands are the ones CI runs."
import re

from readme import NB, README, ROOT, raw_url, render, words


def test_readme_matches_index_notebook():
    got, want = words(README.read_text()), words(render(NB))
    assert got == want, f"README.md and nbs/index.ipynb differ near word {next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))}: run `nbdev-readme` (or `python tests/readme.py`)"


def test_readme_figures_exist_and_show_on_pypi():
    "Every image of README.md is an absolute URL into the repository (PyPI shows no relative link), and its file is in the repository."
    links = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', README.read_text())
    assert links
    for link in links:
        assert link.startswith(raw_url() + '/'), f'README.md shows {link}: a relative link, which PyPI cannot show'
        assert (ROOT/link.removeprefix(raw_url() + '/')).is_file(), f'README.md shows {link}, whose file is missing'


def test_readme_has_the_two_commands_ci_runs():
    blocks = re.findall(r'```sh\n(.*?)\n```', README.read_text(), flags=re.S)
    install, test = blocks[0], blocks[1]
    assert 'pip install -e ".[dev]"' in install and 'genbook train' in install
    assert 'nbdev-test' in test and 'pytest tests/' in test
    ci = (ROOT/'.ci'/'run').read_text()
    assert 'readme_command 1' in ci and 'readme_command 2' in ci


def test_words_sees_a_change():
    md = render(NB)
    assert words(md) != words(md.replace('genbook', 'genbok', 1))
