"""Loading pretrained backbones: the official Microsoft Swin layout, mmseg
layout with wrappers/prefixes, and clear errors."""
import logging

import pytest
import torch
import torch.nn.functional as F
from mmseg.models.backbones import SwinTransformer

from mmris.models.utils import load_pretrained_backbone

EMBED, DEPTHS, HEADS = 8, (2, 1, 1, 1), (1, 2, 2, 4)


def tiny_swin(window=2, embed=EMBED, seed=0):
    torch.manual_seed(seed)
    return SwinTransformer(
        pretrain_img_size=32,
        embed_dims=embed,
        depths=DEPTHS,
        num_heads=HEADS,
        window_size=window,
        out_indices=(0, 1, 2, 3))


def official_state_dict(window=2, num_classes=10):
    """Random tensors named and shaped as the official Swin release
    (microsoft/Swin-Transformer ``SwinTransformer.state_dict()``)."""
    g = torch.Generator().manual_seed(1)

    def rand(*shape):
        return torch.randn(*shape, generator=g)

    sd = {
        'patch_embed.proj.weight': rand(EMBED, 3, 4, 4),
        'patch_embed.proj.bias': rand(EMBED),
        'patch_embed.norm.weight': rand(EMBED),
        'patch_embed.norm.bias': rand(EMBED),
    }
    for i, (depth, heads) in enumerate(zip(DEPTHS, HEADS)):
        c = EMBED * 2**i
        for j in range(depth):
            p = f'layers.{i}.blocks.{j}.'
            sd.update({
                p + 'norm1.weight': rand(c),
                p + 'norm1.bias': rand(c),
                p + 'attn.relative_position_bias_table': rand(
                    (2 * window - 1)**2, heads),
                p + 'attn.relative_position_index': torch.randint(
                    0, (2 * window - 1)**2, (window**2, window**2)),
                p + 'attn.qkv.weight': rand(3 * c, c),
                p + 'attn.qkv.bias': rand(3 * c),
                p + 'attn.proj.weight': rand(c, c),
                p + 'attn.proj.bias': rand(c),
                p + 'norm2.weight': rand(c),
                p + 'norm2.bias': rand(c),
                p + 'mlp.fc1.weight': rand(4 * c, c),
                p + 'mlp.fc1.bias': rand(4 * c),
                p + 'mlp.fc2.weight': rand(c, 4 * c),
                p + 'mlp.fc2.bias': rand(c),
            })
            if j % 2 == 1:  # shifted window block
                sd[p + 'attn_mask'] = rand(4, window**2, window**2)
        if i < len(DEPTHS) - 1:
            sd.update({
                f'layers.{i}.downsample.reduction.weight': rand(2 * c, 4 * c),
                f'layers.{i}.downsample.norm.weight': rand(4 * c),
                f'layers.{i}.downsample.norm.bias': rand(4 * c),
            })
    c_last = EMBED * 2**(len(DEPTHS) - 1)
    sd.update({
        'norm.weight': rand(c_last),
        'norm.bias': rand(c_last),
        'head.weight': rand(num_classes, c_last),
        'head.bias': rand(num_classes),
    })
    return sd


def official_patch_merging(x, h, w, norm_w, norm_b, reduction):
    """Official PatchMerging: concat the 2x2 neighbours x0 (even row, even
    col), x1 (odd row, even col), x2 (even row, odd col), x3 (odd, odd)."""
    b, _, c = x.shape
    x = x.view(b, h, w, c)
    x = torch.cat([
        x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]
    ], -1).view(b, -1, 4 * c)
    return F.linear(F.layer_norm(x, (4 * c, ), norm_w, norm_b), reduction)


@pytest.fixture
def logger():
    return logging.getLogger('test_pretrained_loading')


def test_official_swin_checkpoint_loads_into_mmseg_swin(
        tmp_path, logger, caplog):
    official = official_state_dict()
    path = tmp_path / 'swin_official.pth'
    torch.save({'model': official}, path)
    model = tiny_swin()
    with caplog.at_level(logging.INFO, logger=logger.name):
        result = load_pretrained_backbone(model, str(path), logger=logger)

    assert result['format'] == 'official-swin'
    assert sorted(result['missing_keys']) == [
        f'norm{i}.{p}' for i in range(3) for p in ('bias', 'weight')
    ]
    assert sorted(result['unexpected_keys']) == ['head.bias', 'head.weight']
    warnings = '\n'.join(r.getMessage() for r in caplog.records
                         if r.levelno == logging.WARNING)
    assert 'norm0.weight' in warnings and 'head.weight' in warnings

    # renamed tensors carry the official values
    blk = model.stages[0].blocks[1]
    pairs = {
        'patch_embed.proj.weight': model.patch_embed.projection.weight,
        'layers.0.blocks.1.attn.qkv.weight': blk.attn.w_msa.qkv.weight,
        'layers.0.blocks.1.attn.relative_position_bias_table':
        blk.attn.w_msa.relative_position_bias_table,
        'layers.0.blocks.1.mlp.fc1.weight': blk.ffn.layers[0][0].weight,
        'layers.0.blocks.1.mlp.fc2.bias': blk.ffn.layers[1].bias,
        'layers.3.blocks.0.norm2.weight': model.stages[3].blocks[0].norm2.
        weight,
        'norm.weight': model.norm3.weight,  # final norm = last stage norm
    }
    for key, param in pairs.items():
        assert torch.equal(param, official[key]), key

    # PatchMerging after the conversion computes the official merge
    torch.manual_seed(0)
    for i, (h, w) in enumerate([(8, 8), (4, 4), (2, 2)]):
        c = EMBED * 2**i
        x = torch.randn(2, h * w, c)
        merged, _ = model.stages[i].downsample(x, (h, w))
        expected = official_patch_merging(
            x, h, w, official[f'layers.{i}.downsample.norm.weight'],
            official[f'layers.{i}.downsample.norm.bias'],
            official[f'layers.{i}.downsample.reduction.weight'])
        torch.testing.assert_close(merged, expected, atol=1e-5, rtol=1e-5)


def test_mmseg_format_with_wrappers_and_prefixes(tmp_path, logger):
    src = tiny_swin(seed=1)
    ckpt = {
        'meta': {},
        'state_dict': {
            **{f'backbone.{k}': v
               for k, v in src.state_dict().items()},
            'decode_head.conv_seg.weight': torch.zeros(2, 4, 1, 1),
        }
    }
    torch.save(ckpt, tmp_path / 'segmentor.pth')
    dst = tiny_swin(seed=2)
    result = load_pretrained_backbone(
        dst, str(tmp_path / 'segmentor.pth'), logger=logger)
    assert result['format'] == 'mmseg'
    assert result['missing_keys'] == result['unexpected_keys'] == []
    for (k, a), b in zip(src.state_dict().items(),
                         dst.state_dict().values()):
        assert torch.equal(a, b), k

    dst = tiny_swin(seed=3)
    load_pretrained_backbone(
        dst, {f'module.{k}': v
              for k, v in src.state_dict().items()},
        logger=logger)
    assert torch.equal(dst.norm3.weight, src.norm3.weight)


def test_other_window_size_resizes_bias_tables(logger):
    model = tiny_swin(window=2)
    result = load_pretrained_backbone(
        model, official_state_dict(window=3), logger=logger)
    table = model.stages[0].blocks[0].attn.w_msa.relative_position_bias_table
    assert table.shape == (9, 1)
    assert result['missing_keys'] == [
        f'norm{i}.{p}' for i in range(3) for p in ('weight', 'bias')
    ]


def test_errors_name_the_problem(tmp_path, logger):
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        load_pretrained_backbone(tiny_swin(), str(tmp_path / 'nowhere.pth'))
    torch.save([1, 2], tmp_path / 'list.pth')
    with pytest.raises(ValueError, match='list.pth.*got list'):
        load_pretrained_backbone(tiny_swin(), str(tmp_path / 'list.pth'))
    with pytest.raises(ValueError, match=r'patch_embed.projection.weight has '
                       r'shape \(8, 3, 4, 4\) but SwinTransformer expects'):
        load_pretrained_backbone(
            tiny_swin(embed=16), official_state_dict(), logger=logger)


@pytest.mark.parametrize('map_final_norm', [False, True])
def test_segmentor_passes_loader_options_from_backbone_init_cfg(
        tmp_path, map_final_norm):
    from mmengine.registry import init_default_scope

    from mmris.registry import MODELS
    init_default_scope('mmris')
    official = official_state_dict()
    path = tmp_path / 'swin_official.pth'
    torch.save({'model': official}, path)
    backbone = dict(
        type='mmseg.SwinTransformer',
        pretrain_img_size=32,
        embed_dims=EMBED,
        depths=DEPTHS,
        num_heads=HEADS,
        window_size=2,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(
            type='Pretrained',
            checkpoint=str(path),
            map_final_norm=map_final_norm))
    model = MODELS.build(
        dict(
            type='RISSegmentor',
            data_preprocessor=dict(type='RISDataPreProcessor'),
            backbone=backbone,
            text_encoder=dict(
                type='HFTextEncoder',
                config=dict(
                    hidden_size=16,
                    num_hidden_layers=1,
                    num_attention_heads=2,
                    intermediate_size=32)),
            decode_head=dict(
                type='SimpleFusionHead',
                in_channels=[EMBED * 2**i for i in range(4)],
                text_channels=16,
                channels=8,
                norm_cfg=dict(type='GN', num_groups=4))))
    model.init_weights()
    norm3 = model.backbone.norm3.weight
    assert torch.equal(norm3, official['norm.weight']) == map_final_norm
    # the rest is loaded either way
    assert torch.equal(model.backbone.patch_embed.projection.weight,
                       official['patch_embed.proj.weight'])
