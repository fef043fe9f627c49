import pytest
import torch
import torch.nn.functional as F

from mmris.registry import MODELS


def test_tokens_are_pooled_cells_through_their_level_mlp():
    torch.manual_seed(0)
    prompts = MODELS.build(
        dict(type='ConditionalPrompts', in_channels=8, embed_dims=6))
    prompts.init_weights()
    feat = torch.randn(2, 8, 4, 4)
    out = prompts([torch.randn(2, 4, 8, 8), feat])
    assert out.shape == (2, 5, 6)

    cells = [feat.mean((2, 3))] + [
        feat[:, :, r:r + 2, c:c + 2].mean((2, 3)) for r in (0, 2)
        for c in (0, 2)
    ]
    mlps = [prompts.mlps[0]] + [prompts.mlps[1]] * 4
    expected = torch.stack([
        F.layer_norm(mlp(cell) + emb, (6, ), prompts.norm.weight,
                     prompts.norm.bias)
        for cell, mlp, emb in zip(cells, mlps, prompts.prompt_embed.weight)
    ], 1)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_parameter_count_of_caris_prompts():
    prompts = MODELS.build(dict(type='ConditionalPrompts'))  # 1024 -> 768
    per_level = (1024 * 768 + 768) + (768 * 768 + 768)
    expected = 2 * per_level + 5 * 768 + 2 * 768
    assert expected == 2760960
    assert sum(p.numel() for p in prompts.parameters()) == expected


def test_wrong_channels_raise():
    prompts = MODELS.build(
        dict(type='ConditionalPrompts', in_channels=8, embed_dims=6))
    with pytest.raises(
            ValueError, match=r'\[B, 8, H, W\], got \(1, 4, 2, 2\)'):
        prompts([torch.randn(1, 4, 2, 2)])
