import math

import pytest
import torch

from mmris.models.layers import VLMultiheadAttention


def test_matches_explicit_attention_with_key_mask():
    torch.manual_seed(0)
    attn = VLMultiheadAttention(
        query_dims=6, key_dims=10, embed_dims=8, num_heads=2)
    attn.init_weights()
    q, k, v = torch.randn(2, 3, 6), torch.randn(2, 5, 10), torch.randn(
        2, 5, 10)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    out = attn(q, k, v, key_mask=mask)

    qh = attn.q_proj(q).view(2, 3, 2, 4).transpose(1, 2)
    kh = attn.k_proj(k).view(2, 5, 2, 4).transpose(1, 2)
    vh = attn.v_proj(v).view(2, 5, 2, 4).transpose(1, 2)
    logits = qh @ kh.transpose(-1, -2) / math.sqrt(4)
    logits = logits.masked_fill(mask[:, None, None, :] == 0, float('-inf'))
    expected = attn.out_proj(
        (logits.softmax(-1) @ vh).transpose(1, 2).reshape(2, 3, 8))
    assert out.shape == (2, 3, 6)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_masked_keys_have_no_influence():
    torch.manual_seed(0)
    attn = VLMultiheadAttention(4, 4, 8, 2)
    q, k = torch.randn(1, 3, 4), torch.randn(1, 5, 4)
    mask = torch.tensor([[1, 1, 0, 1, 0]])
    k2 = k.clone()
    k2[:, [2, 4]] = torch.randn(1, 2, 4) * 10
    torch.testing.assert_close(
        attn(q, k, k, key_mask=mask), attn(q, k2, k2, key_mask=mask))


def test_parameter_count_of_caris_width():
    attn = VLMultiheadAttention(256, 256, 1024, 8)
    assert sum(p.numel() for p in attn.parameters()) == 1051904


def test_rejects_heads_not_dividing_width():
    with pytest.raises(ValueError, match='divisible'):
        VLMultiheadAttention(4, 4, 10, 3)
