import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmris.registry import MODELS

IN_CHANNELS = [8, 16, 24, 32]


def small_head(**kwargs):
    cfg = dict(
        type='CARISHead',
        in_channels=IN_CHANNELS,
        text_channels=12,
        feat_channels=32,
        out_channels=16,
        num_prompts=3,
        pixel_decoder=dict(
            type='VLMSDeformAttnPixelDecoder',
            num_layers=1,
            layer_cfg=dict(num_heads=4, num_points=2),
            positional_encoding=dict(num_feats=16, normalize=True),
            norm_cfg=dict(type='GN', num_groups=8)))
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def make_inputs(bs=2, size=64):
    torch.manual_seed(0)
    feats = [
        torch.randn(bs, c, size // s, size // s)
        for c, s in zip(IN_CHANNELS, [4, 8, 16, 32])
    ]
    mask = torch.ones(bs, 6, dtype=torch.long)
    mask[0, 4:] = 0
    return feats, torch.randn(bs, 6, 12), mask


def test_logits_at_stride_4():
    logits = small_head()(make_inputs(size=64))
    assert logits.shape == (2, 2, 16, 16)


def test_background_from_prompts_foreground_from_cls():
    head = small_head()
    seen = {}
    head.pixel_decoder.register_forward_hook(
        lambda m, args, out: seen.update(out=out))
    logits = head(make_inputs())
    fpn, words, prompts = seen['out']
    mask_feats = head.mask_convs(fpn)
    bg = head.class_embed(prompts.mean(1))
    fg = head.class_embed(words[:, 0])
    torch.testing.assert_close(logits[:, 0],
                               (bg[:, :, None, None] * mask_feats).sum(1))
    torch.testing.assert_close(logits[:, 1],
                               (fg[:, :, None, None] * mask_feats).sum(1))


def test_loss_reaches_every_parameter():
    head = small_head()
    gt = torch.zeros(2, 1, 64, 64, dtype=torch.long)
    gt[:, :, 16:40, 8:30] = 1
    samples = [
        SegDataSample(gt_sem_seg=PixelData(data=g), metainfo=dict(
            img_shape=(64, 64))) for g in gt
    ]
    losses = head.loss(make_inputs(), samples)
    assert set(losses) == {'loss_ce', 'acc_seg'}
    losses['loss_ce'].backward()
    no_grad = [n for n, p in head.named_parameters() if p.grad is None]
    assert no_grad == []
    pred = head.predict(make_inputs(), [s.metainfo for s in samples])
    assert pred.shape == (2, 2, 64, 64)


def test_parameter_count_of_caris_swin_b_head():
    head = MODELS.build(
        dict(type='CARISHead', in_channels=[128, 256, 512, 1024]))
    # pixel decoder + 3 mask convs + 3-layer class MLP (256 wide)
    expected = 27780288 + 3 * (256 * 256 + 256) + 3 * (256 * 256 + 256)
    assert expected == 28175040
    assert sum(p.numel() for p in head.parameters()) == expected


def test_rejects_other_class_counts():
    with pytest.raises(ValueError, match='num_classes must be 2'):
        small_head(num_classes=3)
