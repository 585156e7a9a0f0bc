"Every model trains to the weights it trained to before, and every shipped run samples the same pixels (`same_numbers.py` wrote the reference)."
import json

import pytest
import torch

import same_numbers as sn

REF = json.loads(sn.FIXTURE.read_text())


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)   # the reductions the reference was computed with
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize('case', [f'{m}_{d}' for m, d in sn.CASES])
def test_a_few_fp32_steps_give_the_same_weights(case, tmp_path):
    model, dataset = case.split('_')
    got, ref = sn.trained(model, dataset, tmp_path/case), REF['train'][case]
    assert sorted(got) == sorted(ref), 'the same tensors'
    for k, (s, a) in ref.items():
        assert abs(got[k][0] - s) <= 1e-6 * max(a, 1e-3) and abs(got[k][1] - a) <= 1e-6 * max(a, 1e-3), (k, got[k], (s, a))


@pytest.mark.parametrize('run', sorted(REF['sample']))
def test_samples_of_the_shipped_runs_are_the_same_pixels(run, tmp_path):
    assert sn.sampled(sn.ROOT/'pretrained'/run, tmp_path/'x.png') == REF['sample'][run]


def test_the_check_fails_on_another_number(tmp_path):
    "A learning rate changed by one part in a thousand (1e-4 to 1.001e-4) moves the weights past the tolerance."
    from genbook.data import mnist_sample
    from genbook.fit import train_run
    from genbook.models import get_model, load_run
    train_run(get_model('vae'), 'mnist', tmp_path/'r', max_steps=sn.STEPS, bs=sn.BS, precision='fp32', data=mnist_sample(),
              device='cpu', show=False, lr=1.001e-4)
    got, ref = sn.weights_summary(load_run(tmp_path/'r', 'cpu')[0].state_dict()), REF['train']['vae_mnist']
    assert any(abs(got[k][1] - a) > 1e-6 * max(a, 1e-3) for k, (s, a) in ref.items())
