import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

from mmris.engine import RISOptimWrapperConstructor

LR, WD = 1e-4, 1e-2


class Attention(nn.Module):

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(4, 12)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(9, 2))


class Backbone(nn.Module):

    def __init__(self):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, 4, 2)
        self.attn = Attention()
        self.norm = nn.LayerNorm(4)


class TextEncoder(nn.Module):

    def __init__(self):
        super().__init__()
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(10, 4)
        self.embeddings.LayerNorm = nn.LayerNorm(4)
        self.layer = nn.Linear(4, 4)


class Head(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)
        self.gn = nn.GroupNorm(2, 4)
        self.bn = nn.BatchNorm2d(4)
        self.prompts = nn.Embedding(5, 4)
        self.frozen = nn.Linear(4, 4).requires_grad_(False)
        self.my_backbone = nn.Linear(4, 4)  # not the backbone


class Segmentor(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.text_encoder = TextEncoder()
        self.decode_head = Head()
        self.decode_head.shared = self.decode_head.conv  # same weights


class Wrapper(nn.Module):
    """Like MaskRIS: the segmentor one level down."""

    def __init__(self):
        super().__init__()
        self.segmentor = Segmentor()


RECIPE = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=LR, weight_decay=WD),
    constructor='RISOptimWrapperConstructor',
    paramwise_cfg=dict(
        lr_mult=dict(backbone=0.1, text_encoder=0.1),
        norm_decay_mult=0.0,
        embed_decay_mult=0.0,
        no_decay_keys=['relative_position_bias_table']))

# (lr multiplier, decay multiplier) of every trainable parameter, by hand
EXPECTED = {
    'backbone.patch_embed.weight': (0.1, 1),
    'backbone.patch_embed.bias': (0.1, 1),
    'backbone.attn.qkv.weight': (0.1, 1),
    'backbone.attn.qkv.bias': (0.1, 1),
    'backbone.attn.relative_position_bias_table': (0.1, 0),
    'backbone.norm.weight': (0.1, 0),
    'backbone.norm.bias': (0.1, 0),
    'text_encoder.embeddings.word_embeddings.weight': (0.1, 0),
    'text_encoder.embeddings.LayerNorm.weight': (0.1, 0),
    'text_encoder.embeddings.LayerNorm.bias': (0.1, 0),
    'text_encoder.layer.weight': (0.1, 1),
    'text_encoder.layer.bias': (0.1, 1),
    'decode_head.conv.weight': (1, 1),
    'decode_head.conv.bias': (1, 1),
    'decode_head.gn.weight': (1, 0),
    'decode_head.gn.bias': (1, 0),
    'decode_head.bn.weight': (1, 0),
    'decode_head.bn.bias': (1, 0),
    'decode_head.prompts.weight': (1, 0),
    'decode_head.my_backbone.weight': (1, 1),
    'decode_head.my_backbone.bias': (1, 1),
}


def build(model, cfg=RECIPE):
    with DefaultScope.overwrite_default_scope('mmris'):
        return build_optim_wrapper(model, cfg)


def lr_wd_by_name(model, optim_wrapper):
    by_id = {}
    for group in optim_wrapper.optimizer.param_groups:
        for param in group['params']:
            assert id(param) not in by_id, 'parameter in two groups'
            by_id[id(param)] = (group['lr'], group['weight_decay'])
    return {
        n: by_id[id(p)]
        for n, p in model.named_parameters() if id(p) in by_id
    }


@pytest.mark.parametrize('wrapped', [False, True])
def test_lr_mult_and_decay_rules_combine(wrapped):
    model = Wrapper() if wrapped else Segmentor()
    prefix = 'segmentor.' if wrapped else ''
    got = lr_wd_by_name(model, build(model))
    expected = {
        prefix + name: pytest.approx((LR * lr_mult, WD * decay_mult))
        for name, (lr_mult, decay_mult) in EXPECTED.items()
    }
    assert got == expected  # frozen params absent, shared one once


def test_groups_are_merged_and_ordered_by_lr():
    groups = build(Segmentor()).optimizer.param_groups
    lrs = [g['lr'] for g in groups]
    wds = [g['weight_decay'] for g in groups]
    assert lrs == pytest.approx([LR, LR, 0.1 * LR, 0.1 * LR])
    assert wds == pytest.approx([WD, 0, WD, 0])
    assert sum(len(g['params']) for g in groups) == len(EXPECTED)


def test_longest_path_wins():
    cfg = dict(
        RECIPE,
        paramwise_cfg=dict(lr_mult={
            'backbone': 0.1,
            'backbone.attn': 0.5
        }))
    model = Segmentor()
    got = lr_wd_by_name(model, build(model, cfg))
    assert got['backbone.attn.qkv.weight'] == pytest.approx((0.5 * LR, WD))
    assert got['backbone.norm.weight'] == pytest.approx((0.1 * LR, WD))


def test_bad_paramwise_cfg_is_reported():
    cfg = dict(optimizer=dict(type='AdamW', lr=LR))
    with pytest.raises(KeyError, match="'custom_keys'"):
        RISOptimWrapperConstructor(cfg, dict(custom_keys={}))
    with pytest.raises(TypeError, match='lr_mult'):
        RISOptimWrapperConstructor(cfg, dict(lr_mult=dict(backbone='x')))
    with pytest.raises(ValueError, match=r"'\('"):
        RISOptimWrapperConstructor(cfg, dict(no_decay_keys=['(']))
