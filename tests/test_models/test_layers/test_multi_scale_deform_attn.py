"""mmcv's MultiScaleDeformableAttention (as used by the CARIS decoder)
against an independent computation with explicit bilinear sampling."""
import pytest
import torch
from mmcv.ops import MultiScaleDeformableAttention


def bilinear_zero_pad(img, x, y):
    """Sample img [C, H, W] at continuous pixel coords x, y [N] (pixel
    centres at integers), zero outside: four neighbours, explicit weights."""
    c, h, w = img.shape
    x0, y0 = torch.floor(x), torch.floor(y)
    out = torch.zeros(c, x.numel(), dtype=img.dtype)
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            weight = (1 - (x - xi).abs()) * (1 - (y - yi).abs())
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            flat = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).long()
            vals = img.reshape(c, -1)[:, flat]
            out += vals * (weight * inside)[None]
    return out


def reference_msda(attn, query, value, query_pos, reference_points, shapes,
                   key_padding_mask):
    """Deformable attention written from the paper's formula, per batch,
    head, level and point."""
    heads, levels, points = attn.num_heads, attn.num_levels, attn.num_points
    bs, num_query, dims = query.shape
    head_dims = dims // heads
    q = query + query_pos
    v = attn.value_proj(value).masked_fill(key_padding_mask[..., None], 0)
    offsets = attn.sampling_offsets(q).view(bs, num_query, heads, levels,
                                            points, 2)
    weights = attn.attention_weights(q).view(bs, num_query, heads,
                                             levels * points).softmax(-1)
    weights = weights.view(bs, num_query, heads, levels, points)
    out = torch.zeros(bs, num_query, heads, head_dims)
    starts = [0]
    for h, w in shapes:
        starts.append(starts[-1] + h * w)
    for b in range(bs):
        for m in range(heads):
            for lvl, (h, w) in enumerate(shapes):
                img = v[b, starts[lvl]:starts[lvl + 1],
                        m * head_dims:(m + 1) * head_dims].T.reshape(
                            head_dims, h, w)
                for p in range(points):
                    loc = reference_points[b, :, lvl] + offsets[
                        b, :, m, lvl, p] / torch.tensor([w, h])
                    # normalised coords -> pixel coords (align_corners=False)
                    sampled = bilinear_zero_pad(img, loc[:, 0] * w - 0.5,
                                                loc[:, 1] * h - 0.5)
                    out[b, :, m] += (weights[b, :, m, lvl, p][:, None] *
                                     sampled.T)
    return attn.output_proj(out.flatten(2)) + query


def make_inputs():
    torch.manual_seed(0)
    shapes = [(3, 4), (2, 2)]
    attn = MultiScaleDeformableAttention(
        embed_dims=16, num_heads=2, num_levels=2, num_points=3, dropout=0.0,
        batch_first=True)
    # random offsets so samples fall between pixels and outside the map
    with torch.no_grad():
        attn.sampling_offsets.weight.normal_(0, 0.5)
        attn.sampling_offsets.bias.normal_(0, 2.0)
        attn.attention_weights.weight.normal_(0, 0.5)
    bs, num_value = 2, sum(h * w for h, w in shapes)
    value = torch.randn(bs, num_value, 16)
    query = torch.randn(bs, 5, 16)
    query_pos = torch.randn(bs, 5, 16)
    reference_points = torch.rand(bs, 5, 2, 2)
    padding = torch.zeros(bs, num_value, dtype=torch.bool)
    padding[1, -2:] = True
    spatial_shapes = torch.tensor(shapes)
    start = torch.tensor([0, shapes[0][0] * shapes[0][1]])
    return attn, shapes, dict(
        query=query,
        value=value,
        query_pos=query_pos,
        key_padding_mask=padding,
        reference_points=reference_points,
        spatial_shapes=spatial_shapes,
        level_start_index=start)


def test_mmcv_msda_matches_independent_computation():
    attn, shapes, inputs = make_inputs()
    # CPU tensors: mmcv dispatches to its PyTorch path (CUDA op only for
    # CUDA tensors)
    out = attn(**inputs)
    expected = reference_msda(attn, inputs['query'], inputs['value'],
                              inputs['query_pos'], inputs['reference_points'],
                              shapes, inputs['key_padding_mask'])
    assert out.shape == (2, 5, 16)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
def test_mmcv_msda_cuda_kernel_matches_cpu():
    attn, _, inputs = make_inputs()
    cpu_out = attn(**inputs)
    attn = attn.cuda()
    cuda_out = attn(**{k: v.cuda() for k, v in inputs.items()})
    torch.testing.assert_close(cuda_out.cpu(), cpu_out, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('dims,heads,levels,points,expected', [
    (256, 8, 3, 4, 205600),
    # 32*192+192 + 32*96+96 + 2*(32*32+32)
    (32, 8, 3, 4, 11616),
])
def test_msda_parameter_count(dims, heads, levels, points, expected):
    attn = MultiScaleDeformableAttention(
        embed_dims=dims, num_heads=heads, num_levels=levels,
        num_points=points)
    # offsets + weights + value/output projections
    assert sum(p.numel() for p in attn.parameters()) == expected
