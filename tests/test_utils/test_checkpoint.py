"""load_checkpoint_strict: every key must fit; MaskRIS and plain segmentor
checkpoints load into each other."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmris.registry import MODELS
from mmris.utils import CheckpointMismatchError, load_checkpoint_strict

CONFIG = osp.join(
    osp.dirname(__file__), '..', '..', 'configs',
    'maskris_tiny_refshapes_test.py')


@pytest.fixture(scope='module')
def cfg():
    init_default_scope('mmris')
    return Config.fromfile(CONFIG)


def _build(model_cfg, seed):
    torch.manual_seed(seed)
    return MODELS.build(copy.deepcopy(model_cfg))


def _save(tmp_path, state_dict, name='ckpt.pth'):
    path = str(tmp_path / name)
    torch.save(dict(state_dict=state_dict, meta=dict(epoch=1)), path)
    return path


def _equal(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return set(sa) == set(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_maskris_and_plain_checkpoints_load_into_each_other(cfg, tmp_path):
    maskris = _build(cfg.model, 0)
    plain = _build(cfg.model.segmentor, 1)
    assert not _equal(maskris, plain)
    ckpt = load_checkpoint_strict(plain,
                                  _save(tmp_path, maskris.state_dict()))
    assert ckpt['meta'] == dict(epoch=1)
    assert _equal(maskris, plain)

    other = _build(cfg.model, 2)
    load_checkpoint_strict(other, _save(tmp_path, plain.state_dict()))
    assert _equal(other, plain)


def test_ddp_prefix_and_bare_state_dicts_load(cfg, tmp_path):
    source, target = _build(cfg.model.segmentor,
                            0), _build(cfg.model.segmentor, 1)
    state = {f'module.{k}': v for k, v in source.state_dict().items()}
    load_checkpoint_strict(target, _save(tmp_path, state))
    assert _equal(source, target)
    path = str(tmp_path / 'bare.pth')
    torch.save(source.state_dict(), path)  # no 'state_dict' entry
    load_checkpoint_strict(_build(cfg.model.segmentor, 3), path)


def test_mismatch_lists_missing_unexpected_and_shapes(cfg, tmp_path):
    model = _build(cfg.model, 0)
    state = model.state_dict()
    gone = 'decode_head.class_embed.0.bias'
    state.pop(gone)
    state['decode_head.extra.weight'] = torch.zeros(1)
    resized = 'decode_head.mask_convs.0.bias'
    state[resized] = torch.zeros(5)
    target = _build(cfg.model, 1)
    before = copy.deepcopy(target.state_dict())
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(
            target, _save(tmp_path, state), config_name='tiny.py')
    msg = str(err.value)
    assert 'does not fit the model MaskRIS of tiny.py' in msg
    assert f'keys the model needs but the checkpoint lacks (1):\n    ' \
        f'{gone}\n' in msg
    assert 'keys of the checkpoint the model does not have (1):\n    ' \
        'decode_head.extra.weight\n' in msg
    assert f'keys whose shapes differ (1):\n    {resized}: checkpoint ' \
        '(5,), model (32,)' in msg
    # nothing was loaded
    assert all(torch.equal(v, target.state_dict()[k])
               for k, v in before.items())


def test_only_missing_keys_fail_too(cfg, tmp_path):
    model = _build(cfg.model.segmentor, 0)
    state = {
        k: v
        for k, v in model.state_dict().items()
        if not k.startswith('prompt_generator.')
    }
    with pytest.raises(CheckpointMismatchError,
                       match=r'lacks \(\d+\):\n    prompt_generator\.'):
        load_checkpoint_strict(_build(cfg.model.segmentor, 1),
                               _save(tmp_path, state))
