import copy

import pytest
import torch
from mmengine.registry import init_default_scope
from safetensors.torch import load_file

from mmris.registry import MODELS
from ris_model_utils import (IMG_SIZE, MAX_LEN, MINILM_DIR, make_batch,
                             tiny_segmentor_cfg)

init_default_scope('mmris')


def _build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(tiny_segmentor_cfg(**kwargs))
    model.init_weights()
    return model


def test_loss_fields_and_gradients():
    model = _build()
    data = model.data_preprocessor(make_batch(2), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_ce', 'acc_seg'}
    assert torch.isfinite(losses['loss_ce'])
    losses['loss_ce'].backward()
    for part in ('backbone', 'text_encoder', 'decode_head'):
        grads = [p.grad for p in getattr(model, part).parameters()
                 if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), part


def test_forward_and_predict_shapes():
    model = _build().eval()
    data = model.data_preprocessor(make_batch(2), training=False)
    with torch.no_grad():
        logits = model(**data, mode='tensor')
        assert logits.shape == (2, 2, IMG_SIZE // 4, IMG_SIZE // 4)
        full = model.encode_decode(data['inputs'],
                                   [s.metainfo for s in data['data_samples']])
        results = model(**data, mode='predict')
    for i, sample in enumerate(results):
        ori_h, ori_w = sample.ori_shape
        assert sample.seg_logits.data.shape == (2, ori_h, ori_w)
        assert sample.pred_sem_seg.data.shape == (1, ori_h, ori_w)
        # argmax over 2 classes, never a threshold
        assert torch.equal(sample.pred_sem_seg.data,
                           sample.seg_logits.data.argmax(0, keepdim=True))
        assert sample.input_pred_sem_seg.data.shape == (1, IMG_SIZE,
                                                        IMG_SIZE)
        assert torch.equal(sample.input_pred_sem_seg.data[0],
                           full[i].argmax(0))
        assert 'gt_sem_seg' in sample and sample.text


def test_predict_without_samples_and_with_padding():
    model = _build(
        data_preprocessor=dict(
            type='RISDataPreProcessor',
            mean=[0, 0, 0],
            std=[255, 255, 255],
            test_cfg=dict(size_divisor=32)))
    model.eval()
    batch = make_batch(2, size=48, patch=16)
    data = model.data_preprocessor(copy.deepcopy(batch), training=False)
    assert data['inputs']['imgs'].shape[-2:] == (64, 64)
    with torch.no_grad():
        results = model.predict(data['inputs'], data['data_samples'])
        bare = model.predict(data['inputs'])
    # padding is cropped before argmax at the input size
    assert results[0].input_pred_sem_seg.shape == (48, 48)
    assert results[0].pred_sem_seg.shape == (56, 40)
    assert bare[0].pred_sem_seg.shape == (64, 64)


def test_prompt_generator_tokens_reach_text_but_not_head():
    model = _build(
        prompt_generator=dict(
            type='ConditionalPrompts', in_channels=128, embed_dims=32,
            hidden_channels=32))
    data = model.data_preprocessor(make_batch(2), training=True)
    visual, text, mask = model.extract_feat(data['inputs'])
    assert len(visual) == 4
    assert text.shape == (2, MAX_LEN, 32) and mask.shape == (2, MAX_LEN)
    model.loss(data['inputs'], data['data_samples'])['loss_ce'].backward()
    assert all(p.grad is not None
               for p in model.prompt_generator.parameters())


def test_init_weights_loads_pretrained_backbone_keeps_text_encoder(tmp_path):
    torch.manual_seed(1)
    donor = MODELS.build(tiny_segmentor_cfg()['backbone'])
    ckpt = tmp_path / 'swin_tiny.pth'
    torch.save(dict(state_dict=donor.state_dict()), ckpt)
    cfg = tiny_segmentor_cfg(
        text_encoder=dict(type='HFTextEncoder', pretrained=MINILM_DIR))
    cfg['backbone']['init_cfg'] = dict(type='Pretrained', checkpoint=str(ckpt))
    cfg['decode_head']['text_channels'] = 384
    model = MODELS.build(cfg)
    model.init_weights()
    for key, value in donor.state_dict().items():
        torch.testing.assert_close(model.backbone.state_dict()[key], value)
    saved = load_file(f'{MINILM_DIR}/model.safetensors')
    state = model.text_encoder.model.state_dict()
    for key in ('embeddings.word_embeddings.weight',
                'encoder.layer.0.attention.self.query.weight'):
        assert torch.equal(state[key], saved[key])


def test_bad_configs():
    with pytest.raises(ValueError, match='slide'):
        _build(test_cfg=dict(mode='slide', crop_size=(32, 32)))
    with pytest.raises(ValueError, match='train_cfg'):
        _build(train_cfg=dict(sampler=None))
    model = _build()
    with pytest.raises(KeyError, match='input_ids'):
        model.extract_feat(dict(imgs=torch.zeros(1, 3, 64, 64)))
