import math

import pytest
import torch

from mmris.models.layers import VLMSDeformAttnPixelDecoder
from mmris.registry import MODELS

IN_CHANNELS = [8, 16, 24, 32]


def small_decoder(**kwargs):
    cfg = dict(
        type='VLMSDeformAttnPixelDecoder',
        in_channels=IN_CHANNELS,
        text_channels=12,
        feat_channels=32,
        num_prompts=3,
        num_layers=2,
        layer_cfg=dict(num_heads=4, num_points=2),
        positional_encoding=dict(num_feats=16, normalize=True),
        norm_cfg=dict(type='GN', num_groups=8))
    cfg.update(kwargs)
    decoder = MODELS.build(cfg)
    decoder.init_weights()
    return decoder


def make_inputs(bs=2, size=32):
    torch.manual_seed(0)
    feats = [
        torch.randn(bs, c, size // s, size // s)
        for c, s in zip(IN_CHANNELS, [4, 8, 16, 32])
    ]
    text_mask = torch.ones(bs, 7, dtype=torch.long)
    text_mask[1, 4:] = 0
    return feats, torch.randn(bs, 7, 12), text_mask


def test_output_shapes():
    fpn, words, prompts = small_decoder()(*make_inputs())
    assert fpn.shape == (2, 32, 8, 8)
    assert words.shape == (2, 7, 32)
    assert prompts.shape == (2, 3, 32)


def test_padded_words_do_not_change_outputs():
    decoder = small_decoder().eval()
    feats, text, mask = make_inputs()
    fpn, words, prompts = decoder(feats, text, mask)
    text2 = text.clone()
    text2[1, 4:] = 100.
    fpn2, words2, prompts2 = decoder(feats, text2, mask)
    torch.testing.assert_close(fpn, fpn2)
    torch.testing.assert_close(prompts, prompts2)
    torch.testing.assert_close(words[1, :4], words2[1, :4])


def test_position_encoding_and_reference_points():
    decoder = small_decoder()
    seen = {}
    decoder.layers[0].register_forward_hook(
        lambda m, args, out: seen.update(pos=args[2], ref=args[6]))
    decoder(*make_inputs())
    pos, ref = seen['pos'], seen['ref']
    # 1x1 + 2x2 + 4x4 tokens, coarse level first, level embedding added
    assert pos.shape == (2, 1 + 4 + 16, 32)
    level1 = pos[0, 1:5] - decoder.level_embed.weight[1]
    # token (row 1, col 0) of the 2x2 level: y = 2/2*2pi, x = 1/2*2pi;
    # channels: 16 for y then 16 for x, (sin, cos) pairs of y/10000^(2i/16)
    y, x = 2 / (2 + 1e-6) * 2 * math.pi, 1 / (2 + 1e-6) * 2 * math.pi
    expected = torch.tensor([
        f(v / 10000**(2 * (i // 2) / 16)) for v in (y, x)
        for i, f in zip(range(16), [math.sin, math.cos] * 8)
    ])
    torch.testing.assert_close(level1[2], expected, atol=1e-5, rtol=1e-5)
    # reference points: pixel centres, (x, y), same for every level
    torch.testing.assert_close(ref[0, 1:5, 0],
                               torch.tensor([[.25, .25], [.75, .25],
                                             [.25, .75], [.75, .75]]))
    assert torch.equal(ref[:, :, 0], ref[:, :, 2])


def test_parameter_count_of_caris_swin_b_decoder():
    decoder = VLMSDeformAttnPixelDecoder(
        in_channels=[128, 256, 512, 1024], text_channels=768)
    input_convs = (1024 + 512 + 256) * 256 + 3 * (256 + 512)
    fpn = 128 * 256 + 512 + 9 * 256 * 256 + 512  # convs without bias + GN
    expected = (input_convs + 3 * 256 + (768 * 256 + 256 + 512) + 5 * 256 +
                6 * 4416032 + fpn)
    assert expected == 27780288
    assert sum(p.numel() for p in decoder.parameters()) == expected


def test_bad_configs_and_inputs_raise():
    with pytest.raises(ValueError, match='num_feats'):
        small_decoder(positional_encoding=dict(num_feats=8, normalize=True))
    with pytest.raises(ValueError, match='num_encoder_levels'):
        small_decoder(num_encoder_levels=5)
    feats, text, mask = make_inputs()
    with pytest.raises(ValueError, match='expected 4 visual feature levels'):
        small_decoder()(feats[1:], text, mask)
