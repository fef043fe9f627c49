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


def folded_inputs(nq, nk, dtype=torch.double):
    gen = torch.Generator().manual_seed(1)
    attn = VLMultiheadAttention(
        query_dims=6, key_dims=10, embed_dims=16, num_heads=4).to(dtype)
    with torch.no_grad():  # non-zero biases: the folds must carry them
        for p in attn.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype) * 0.5)
    q = torch.randn(2, nq, 6, generator=gen, dtype=dtype)
    k = torch.randn(2, nk, 10, generator=gen, dtype=dtype)
    v = torch.randn(2, nk, 10, generator=gen, dtype=dtype)
    mask = torch.ones(2, nk, dtype=torch.long)
    mask[0, nk // 2:] = 0
    return attn, q, k, v, mask


@pytest.mark.parametrize('path', ['fold_keys', 'fold_queries'])
@pytest.mark.parametrize('nq,nk', [(3, 40), (40, 3), (5, 5)])
def test_folded_paths_equal_standard_with_gradients(path, nq, nk):
    attn, q, k, v, mask = folded_inputs(nq, nk)
    results = []
    for p in ('standard', path):
        attn.zero_grad()
        inputs = [t.clone().requires_grad_() for t in (q, k, v)]
        out = attn(*inputs, key_mask=mask, path=p)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum(
        ).backward()
        results.append((out, [t.grad for t in inputs],
                        {n: p.grad for n, p in attn.named_parameters()}))
    (out_a, in_a, par_a), (out_b, in_b, par_b) = results
    torch.testing.assert_close(out_b, out_a)
    for a, b in zip(in_a, in_b):
        torch.testing.assert_close(b, a)
    for name in par_a:
        # every parameter takes part (DDP), with the standard gradient
        assert par_b[name] is not None, name
        torch.testing.assert_close(par_b[name], par_a[name], msg=name)


def test_cheapest_path_for_caris_shapes():
    attn = VLMultiheadAttention(256, 256, 1024, 8)
    # 25 language tokens, 4116 visual tokens (448x448 input)
    assert attn.choose_path(25, 4116) == 'fold_keys'
    assert attn.choose_path(4116, 25) == 'fold_queries'
    assert attn.choose_path(25, 25) == 'standard'
    costs = attn.path_costs(4116, 25)
    assert costs['fold_queries'] * 4 < costs['standard']
    attn.fold_projections = False
    assert attn.choose_path(25, 4116) == 'standard'


def test_folded_path_in_float32_close_to_standard():
    attn, q, k, v, mask = folded_inputs(4, 300, torch.float32)
    torch.testing.assert_close(
        attn(q, k, v, key_mask=mask, path='fold_keys'),
        attn(q, k, v, key_mask=mask, path='standard'),
        atol=1e-4,
        rtol=1e-4)


def test_rejects_unknown_path():
    attn, q, k, v, mask = folded_inputs(2, 2)
    with pytest.raises(ValueError, match='path'):
        attn(q, k, v, path='fast')
