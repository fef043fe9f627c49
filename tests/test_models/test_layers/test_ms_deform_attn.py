"""MSDeformAttn / ms_deform_attn_grid_sample against mmcv's PyTorch path:
same outputs and gradients."""
import pytest
import torch
from mmcv.ops import MultiScaleDeformableAttention
from mmcv.ops.multi_scale_deform_attn import \
    multi_scale_deformable_attn_pytorch

from mmris.models.layers.ms_deform_attn import (MSDeformAttn,
                                                ms_deform_attn_grid_sample)

SHAPES = [(3, 5), (2, 2), (1, 3)]


def sampling_inputs(bs=2, num_query=7, heads=2, channels=4, points=3):
    gen = torch.Generator().manual_seed(0)
    num_value = sum(h * w for h, w in SHAPES)
    value = torch.randn(bs, num_value, heads, channels, generator=gen)
    # locations partly outside [0, 1] (zero padding) and between pixels
    locations = torch.rand(
        bs, num_query, heads, len(SHAPES), points, 2, generator=gen) * 1.6
    locations = locations - 0.3
    weights = torch.rand(
        bs, num_query, heads, len(SHAPES) * points,
        generator=gen).softmax(-1).view(bs, num_query, heads, len(SHAPES),
                                        points)
    return [t.double().requires_grad_() for t in (value, locations, weights)]


def grads(fn, tensors, grad_out):
    for t in tensors:
        t.grad = None
    out = fn()
    out.backward(grad_out)
    return out.detach(), [t.grad.clone() for t in tensors]


def test_sampling_matches_mmcv_pytorch_path_and_gradients():
    value, locations, weights = sampling_inputs()
    grad_out = torch.randn(2, 7, 8, dtype=torch.double)
    ours, ours_grads = grads(
        lambda: ms_deform_attn_grid_sample(value, SHAPES, locations, weights),
        (value, locations, weights), grad_out)
    ref, ref_grads = grads(
        lambda: multi_scale_deformable_attn_pytorch(
            value, torch.tensor(SHAPES), locations, weights),
        (value, locations, weights), grad_out)
    assert ours.shape == (2, 7, 8)
    torch.testing.assert_close(ours, ref)
    for a, b in zip(ours_grads, ref_grads):
        torch.testing.assert_close(a, b)


def test_sampling_gradcheck():
    value, locations, weights = sampling_inputs(bs=1, num_query=3, points=2)
    # keep the locations away from pixel centres (kinks of bilinear)
    with torch.no_grad():
        locations.copy_(locations.detach() * 0.97 + 0.011)
    assert torch.autograd.gradcheck(
        lambda v, loc, w: ms_deform_attn_grid_sample(v, SHAPES, loc, w),
        (value, locations, weights))


def test_rejects_shapes_not_matching_values():
    value, locations, weights = sampling_inputs()
    with pytest.raises(ValueError, match='spatial shapes'):
        ms_deform_attn_grid_sample(value, SHAPES[:2] + [(2, 2)], locations,
                                   weights)


@pytest.mark.parametrize('batch_first', [True, False])
def test_module_matches_mmcv_module(batch_first):
    torch.manual_seed(0)
    kwargs = dict(
        embed_dims=16, num_heads=2, num_levels=3, num_points=2,
        dropout=0.0, batch_first=batch_first)
    ref = MultiScaleDeformableAttention(**kwargs)
    with torch.no_grad():  # offsets that reach outside the maps
        ref.sampling_offsets.weight.normal_(0, 0.5)
        ref.sampling_offsets.bias.normal_(0, 2.0)
    ours = MSDeformAttn(**kwargs)
    ours.load_state_dict(ref.state_dict())
    assert ours.state_dict().keys() == ref.state_dict().keys()
    num_value = sum(h * w for h, w in SHAPES)
    bs = 2
    query = torch.randn(bs, num_value, 16)
    pos = torch.randn(bs, num_value, 16)
    padding = torch.zeros(bs, num_value, dtype=torch.bool)
    padding[1, -3:] = True
    inputs = dict(
        query_pos=pos,
        key_padding_mask=padding,
        reference_points=torch.rand(bs, num_value, 3, 2),
        spatial_shapes=torch.tensor(SHAPES),
        level_start_index=torch.tensor([0, 15, 19]))
    if not batch_first:
        query, inputs['query_pos'] = query.transpose(0, 1), pos.transpose(
            0, 1)
    outs = []
    for module in (ours, ref):
        module.zero_grad()
        q = query.clone().requires_grad_()
        out = module(q, **inputs)
        out.square().sum().backward()
        outs.append((out, q.grad, {
            k: p.grad
            for k, p in module.named_parameters()
        }))
    torch.testing.assert_close(outs[0][0], outs[1][0])
    torch.testing.assert_close(outs[0][1], outs[1][1])
    for name, grad in outs[1][2].items():
        torch.testing.assert_close(outs[0][2][name], grad, msg=name)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_runs_mmcv_kernel_same_result():
    torch.manual_seed(0)
    module = MSDeformAttn(
        embed_dims=16, num_heads=2, num_levels=3, num_points=2,
        batch_first=True)
    num_value = sum(h * w for h, w in SHAPES)
    inputs = dict(
        query=torch.randn(2, num_value, 16),
        reference_points=torch.rand(2, num_value, 3, 2),
        spatial_shapes=torch.tensor(SHAPES),
        level_start_index=torch.tensor([0, 15, 19]))
    cpu_out = module(**inputs)
    cuda_out = module.cuda()(**{k: v.cuda() for k, v in inputs.items()})
    torch.testing.assert_close(cuda_out.cpu(), cpu_out, atol=1e-4, rtol=1e-4)
