import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import load_state_dict
from safetensors.torch import load_file

from mmris.registry import MODELS
from ris_model_utils import (MINILM_DIR, make_batch, maskris_cfg,
                             tiny_segmentor_cfg)

init_default_scope('mmris')
CLASS_WEIGHT = torch.tensor([0.9, 1.1])


@pytest.fixture(scope='module')
def base_model():
    torch.manual_seed(0)
    model = MODELS.build(maskris_cfg('concat'))
    model.init_weights()
    return model


def _variant(model, **attrs):
    model = copy.deepcopy(model)
    for key, value in attrs.items():
        setattr(model, key, value)
    model.zero_grad(set_to_none=True)
    return model


def _grads(model):
    return {
        name: (p.grad.clone() if p.grad is not None else torch.zeros_like(p))
        for name, p in model.named_parameters()
    }


def _reference(model, data, w_clean=0.5, w_distill=0.5, detach=True):
    """DCL loss written from the method's facts, independent of MaskRIS:
    w1 * weighted CE(clean logits upsampled, GT)
    + w2 * mean_pixels(-sum_c w_c p_c log q_c) with p = softmax(clean)."""
    model = _variant(model)
    data = model.data_preprocessor(copy.deepcopy(data), training=True)
    inputs, samples = data['inputs'], data['data_samples']
    seg = model.segmentor
    clean = seg._forward(
        dict(
            imgs=inputs['imgs'],
            input_ids=inputs['input_ids'],
            attention_mask=inputs['attention_mask']))
    masked = seg._forward(
        dict(
            imgs=inputs['masked_imgs'],
            input_ids=inputs['masked_input_ids'],
            attention_mask=inputs['attention_mask']))
    gt = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    up = F.interpolate(
        clean, size=gt.shape[-2:], mode='bilinear', align_corners=True)
    loss_clean = F.cross_entropy(up, gt, weight=CLASS_WEIGHT)
    teacher = clean.softmax(1)
    if detach:
        teacher = teacher.detach()
    loss_distill = -(CLASS_WEIGHT.view(1, 2, 1, 1) * teacher *
                     masked.log_softmax(1)).sum(1).mean()
    (w_clean * loss_clean + w_distill * loss_distill).backward()
    return _grads(model), loss_clean.item(), loss_distill.item()


def _assert_grads_close(actual, expected, scale=1.0):
    """Per-parameter closeness; the floor relative to the largest gradient
    absorbs rounding noise of mathematically zero gradients (key biases)."""
    assert actual.keys() == expected.keys()
    floor = 1e-6 * scale * max(g.abs().max().item()
                               for g in expected.values())
    for name, ref in expected.items():
        ref = ref * scale
        atol = 1e-5 * ref.abs().max().item() + floor
        torch.testing.assert_close(
            actual[name], ref, rtol=1e-4, atol=atol, msg=name)


def _sequential_via_loss(model, data, optim_wrapper):
    """What plain MMDistributedDataParallel does: BaseModel.train_step."""
    return BaseModel.train_step(model, data, optim_wrapper)


@pytest.fixture(scope='module')
def dcl_reference(base_model):
    data = make_batch(2, seed=3)
    return (data, ) + _reference(base_model, data)


def test_reference_check_catches_missing_detach_and_wrong_weight(
        base_model, dcl_reference):
    data, ref_grads = dcl_reference[:2]
    for kwargs in (dict(detach=False), dict(w_clean=0.6)):
        other = _reference(base_model, data, **kwargs)[0]
        with pytest.raises(AssertionError):
            _assert_grads_close(other, ref_grads)


@pytest.mark.parametrize('runner', ['concat', 'sequential', 'seq_loss'])
def test_gradients_equal_the_dcl_reference(base_model, dcl_reference,
                                           runner):
    data, ref_grads, ref_clean, ref_distill = dcl_reference
    mode = 'concat' if runner == 'concat' else 'sequential'
    model = _variant(base_model, mode=mode)
    # accumulative_counts=2: no step yet, grads are kept (scaled by 1/2)
    optim_wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=1.0), accumulative_counts=2)
    step = _sequential_via_loss if runner == 'seq_loss' else type(
        model).train_step
    log_vars = step(model, copy.deepcopy(data), optim_wrapper)
    assert optim_wrapper.inner_count == 1
    _assert_grads_close(_grads(model), ref_grads, scale=0.5)
    assert list(log_vars) == [
        'loss', 'clean.loss_ce', 'clean.acc_seg', 'distill.loss_ce'
    ]
    assert log_vars['clean.loss_ce'].item() == pytest.approx(
        0.5 * ref_clean, rel=1e-5)
    assert log_vars['distill.loss_ce'].item() == pytest.approx(
        0.5 * ref_distill, rel=1e-5)
    assert log_vars['loss'].item() == pytest.approx(
        0.5 * (ref_clean + ref_distill), rel=1e-5)
    assert 0 <= log_vars['clean.acc_seg'].item() <= 100


@pytest.mark.parametrize('mode', ['concat', 'sequential'])
def test_one_optimizer_step_per_train_step(base_model, dcl_reference,
                                           mode):
    data, ref_grads = dcl_reference[:2]
    model = _variant(base_model, mode=mode)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    # a large lr so that the update dominates the parameters' rounding
    lr = 1e3
    optim_wrapper = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=lr), accumulative_counts=2)
    optim_wrapper.initialize_count_status(model, 0, max_counts=4)
    model.train_step(copy.deepcopy(data), optim_wrapper)
    assert optim_wrapper.inner_count == 1
    assert all(
        torch.equal(p, before[n]) for n, p in model.named_parameters())
    model.train_step(copy.deepcopy(data), optim_wrapper)
    assert optim_wrapper.inner_count == 2
    # two accumulated halves of the same batch == one full gradient step
    delta = {
        n: (before[n] - p.detach()) / lr
        for n, p in model.named_parameters()
    }
    _assert_grads_close(delta, ref_grads)
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.parameters())  # zeroed after the step


@pytest.mark.parametrize('mode', ['concat', 'sequential'])
def test_masking_off_equals_plain_segmentor_training(base_model, mode):
    data = make_batch(2, seed=5)
    plain = _variant(base_model).segmentor
    plain_opt = OptimWrapper(torch.optim.SGD(plain.parameters(), lr=1.0),
                             accumulative_counts=2)
    plain_vars = plain.train_step(copy.deepcopy(data), plain_opt)
    model = _variant(base_model, mode=mode, mask_image=False,
                     mask_text=False)
    opt = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0),
                       accumulative_counts=2)
    log_vars = model.train_step(copy.deepcopy(data), opt)
    assert list(log_vars) == list(plain_vars) == ['loss', 'loss_ce',
                                                  'acc_seg']
    for key in plain_vars:
        assert log_vars[key].item() == pytest.approx(plain_vars[key].item())
    grads = {n[len('segmentor.'):]: g for n, g in _grads(model).items()}
    _assert_grads_close(grads, _grads(plain))


def test_views_and_masked_gt_term(base_model):
    data = make_batch(2, seed=6)
    pre = base_model.data_preprocessor(copy.deepcopy(data), training=True)
    inputs = pre['inputs']
    text_only = _variant(base_model, mask_image=False)
    view = text_only.masked_view(inputs)
    assert view['imgs'] is inputs['imgs']
    assert view['input_ids'] is inputs['masked_input_ids']
    image_only = _variant(base_model, mask_text=False)
    view = image_only.masked_view(inputs)
    assert view['imgs'] is inputs['masked_imgs']
    assert view['input_ids'] is inputs['input_ids']
    assert view['attention_mask'] is inputs['attention_mask']

    model = _variant(base_model, masked_gt_weight=0.25)
    losses = model.loss(inputs, pre['data_samples'])
    masked_logits = model.segmentor._forward(model.masked_view(inputs))
    expected = model.segmentor.loss_by_logits(masked_logits,
                                              pre['data_samples'])
    assert set(losses) == {
        'clean.loss_ce', 'clean.acc_seg', 'distill.loss_ce',
        'masked_gt.loss_ce', 'masked_gt.acc_seg'
    }
    torch.testing.assert_close(losses['masked_gt.loss_ce'],
                               0.25 * expected['loss_ce'])


def test_missing_masked_inputs_and_bad_args(base_model):
    data = make_batch(2, masked=False)
    with pytest.raises(KeyError, match='RandomPatchMask'):
        base_model.train_step(data,
                              OptimWrapper(torch.optim.SGD(
                                  base_model.parameters(), lr=0.)))
    with pytest.raises(ValueError, match='mode'):
        MODELS.build(maskris_cfg('parallel'))
    cfg = maskris_cfg(data_preprocessor=dict(type='RISDataPreProcessor'))
    with pytest.raises(ValueError, match='data_preprocessor'):
        MODELS.build(cfg)


def test_predict_is_the_segmentor(base_model):
    model = _variant(base_model).eval()
    data = make_batch(2, seed=7, masked=False)
    with torch.no_grad():
        ours = model.val_step(copy.deepcopy(data))
        plain = model.segmentor.val_step(copy.deepcopy(data))
        tensor = model(**model.data_preprocessor(copy.deepcopy(data)))
    for a, b in zip(ours, plain):
        assert torch.equal(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.input_pred_sem_seg.data,
                           b.input_pred_sem_seg.data)
    assert tensor.shape == (2, 2, 16, 16)
    assert model.data_preprocessor is model.segmentor.data_preprocessor
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in model.segmentor.parameters())


def test_checkpoints_interchangeable_with_plain_segmentor(base_model,
                                                          tmp_path):
    model = _variant(base_model)
    keys = list(model.state_dict())
    assert keys == list(model.segmentor.state_dict())
    torch.manual_seed(9)
    plain = MODELS.build(tiny_segmentor_cfg())
    # plain -> MaskRIS (strict torch loading) and back through mmengine
    model.load_state_dict(plain.state_dict(), strict=True)
    for key, value in plain.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    torch.manual_seed(10)
    other = MODELS.build(maskris_cfg())
    load_state_dict(plain, other.state_dict(), strict=True)
    for key, value in other.state_dict().items():
        assert torch.equal(plain.state_dict()[key], value)
    # old-style keys with the prefix still load
    prefixed = {
        'segmentor.' + k: v
        for k, v in MODELS.build(tiny_segmentor_cfg()).state_dict().items()
    }
    model.load_state_dict(prefixed, strict=True)
    for key, value in prefixed.items():
        assert torch.equal(model.state_dict()[key[len('segmentor.'):]], value)


def test_init_weights_keeps_pretrained_text_encoder():
    cfg = maskris_cfg()
    cfg['segmentor']['text_encoder'] = dict(
        type='HFTextEncoder', pretrained=MINILM_DIR)
    cfg['segmentor']['decode_head']['text_channels'] = 384
    model = MODELS.build(cfg)
    model.init_weights()
    saved = load_file(f'{MINILM_DIR}/model.safetensors')
    state = model.segmentor.text_encoder.model.state_dict()
    for key in saved:
        if key in state:
            assert torch.equal(state[key], saved[key]), key
