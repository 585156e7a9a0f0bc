"A run folder's JSON files broken every way a file breaks (each top-level type, a missing key, a key of the wrong type), and a file where a folder must be: every command that reads or writes them ends in one clear line and exit code 2, never a traceback."
import json
import shutil

import pytest

from cli import genbook, ok_json, one_line_error

TOP_LEVEL = [[1, 2], 'text', 3.5, None, True]   # valid JSON, but not an object


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp('trained')
    ok_json(genbook('train', 'dcgan', 'mnist', '--out', d/'run', '--max-steps', 2, '--bs', 16, '--device', 'cpu', cache=d/'cache'))
    t = ok_json(genbook('time', d/'run', '--steps', 1, '--rounds', 1, '--warmup', 1, '--device', 'cpu', cache=d/'cache'))
    assert (t['bs'], t['device'], json.loads((d/'run'/'timing.json').read_text())) == (16, 'cpu', t)
    return d/'run'


def _commands(run, tmp):
    "Every command that reads the run folder `run`."
    return {'sample': ('sample', run, '--out', tmp/'x.png', '--device', 'cpu'),
            'resume': ('train', 'dcgan', 'mnist', '--out', run, '--resume', '--max-steps', 3, '--device', 'cpu'),
            'eval': ('eval', run, '--n', 8, '--recon-n', 0, '--device', 'cpu'),
            'latent': ('latent', run, '--plot', 'samples', '--out', tmp/'x.png', '--device', 'cpu'),
            'export': ('export', run, tmp/'exported'),
            'compare': ('compare', run, '--out', tmp/'report.md')}


CASES = ([('config.json', v, 'is corrupt (a JSON', ('sample', 'resume', 'eval', 'latent', 'export', 'compare')) for v in TOP_LEVEL] +
         [('checkpoints/latest.json', v, 'is corrupt (a JSON', ('sample', 'resume', 'eval', 'latent', 'export')) for v in TOP_LEVEL] +
         [('metrics.json', v, 'is corrupt (a JSON', ('compare',)) for v in TOP_LEVEL] +
         [('eval.json', v, 'is corrupt (a JSON', ('compare',)) for v in TOP_LEVEL] +
         [('timing.json', v, 'is corrupt (a JSON', ('compare',)) for v in TOP_LEVEL] +
         [('config.json', {'model': None}, "is corrupt ('model' is None)", ('sample', 'resume', 'eval', 'latent', 'export', 'compare')),
          ('config.json', {'model': 3}, "is corrupt ('model' is 3)", ('sample', 'resume', 'eval', 'latent', 'export', 'compare')),
          ('config.json', {'model': 'dcgan9'}, "model 'dcgan9'", ('sample', 'eval', 'latent', 'compare')),
          ('config.json', {'settings': 3}, "is corrupt ('settings' and 'data' must be objects)", ('sample', 'resume')),   # the same reader as every command's
          ('config.json', {'data': 'here'}, "is corrupt ('settings' and 'data' must be objects)", ('eval', 'export')),
          ('timing.json', {'speed': None}, "is corrupt ('speed' is None)", ('compare',)),
          ('timing.json', {'bs': '16'}, "is corrupt ('bs' is '16')", ('compare',)),
          ('checkpoints/latest.json', {'dir': None}, "is corrupt ('dir' is None)", ('sample', 'resume', 'eval', 'export')),
          ('checkpoints/latest.json', {'epoch': '0'}, "is corrupt ('epoch' is '0')", ('sample', 'resume', 'eval')),
          ('checkpoints/latest.json', {'dir': 'step_00000009'}, 'points at step_00000009, which is not there', ('sample', 'resume', 'eval', 'export'))])


@pytest.mark.parametrize('fname,value,says,commands', CASES, ids=lambda v: json.dumps(v)[:40] if not isinstance(v, tuple) else None)
def test_a_broken_json_file_is_one_line(trained, tmp_path, fname, value, says, commands):
    run = shutil.copytree(trained, tmp_path/'run')
    if isinstance(value, dict):   # the real file with keys changed (`None`: removed)
        value = {k: v for k, v in {**json.loads((run/fname).read_text()), **value}.items() if v is not None}
    (run/fname).write_text(json.dumps(value))
    cmds = _commands(run, tmp_path)
    for c in commands: one_line_error(genbook(*cmds[c], cache=tmp_path/'cache'), says, *([fname.split('/')[-1]] if 'corrupt' in says else []))


@pytest.mark.parametrize('args', [('sample', '{run}', '--out', '{file}/a.png'), ('latent', '{run}', '--plot', 'samples', '--out', '{file}/a.png'),
                                  ('compare', '{run}', '--out', '{file}/report.md'), ('export', '{run}', '{file}/exported'),
                                  ('train', 'vae', 'mnist', '--out', '{file}/run', '--max-steps', '1')], ids=lambda a: a[0])
def test_a_file_where_a_folder_must_be_is_one_line(trained, tmp_path, args):
    (tmp_path/'out.txt').write_text('a file, not a folder')
    argv = [a.format(run=trained, file=tmp_path/'out.txt') for a in args]
    one_line_error(genbook(*argv, '--device', 'cpu', cache=tmp_path/'cache') if args[0] in ('sample', 'latent', 'train') else genbook(*argv, cache=tmp_path/'cache'),
                   'out.txt', 'is a file, not a folder')
    assert (tmp_path/'out.txt').read_text() == 'a file, not a folder'
