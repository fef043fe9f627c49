"""From a generated REFER dataset through the real pipeline, preprocessor
and MaskRIS, then a short mmengine Runner training."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmris.datasets.refshapes import generate_refshapes
from mmris.registry import DATASETS, MODELS
from ris_model_utils import (IMG_SIZE, MAX_LEN, MINILM_DIR, maskris_cfg,
                             tiny_segmentor_cfg)

init_default_scope('mmris')

TRAIN_PIPELINE = [
    dict(type='LoadReferImage'),
    dict(type='LoadReferMask'),
    dict(type='Resize', scale=(IMG_SIZE, IMG_SIZE), keep_ratio=False),
    dict(type='TokenizeText', tokenizer=MINILM_DIR, max_length=MAX_LEN),
    dict(type='RandomPatchMask', patch_size=16, keep_ratio=0.25),
    dict(type='RandomTextMask', tokenizer=MINILM_DIR, select_prob=0.5),
    dict(type='PackRISInputs'),
]


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('refshapes'))
    generate_refshapes(
        root, num_images=dict(train=4, val=1, testA=1, testB=1),
        level='easy', width=80, height=60, seed=0)
    return root


def _dataset_cfg(data_root):
    return dict(
        type='RefCocoDataset',
        data_root=data_root,
        ann_file='instances.json',
        split_file='refs(unc).p',
        data_prefix=dict(img_path='images/'),
        split='train',
        pipeline=TRAIN_PIPELINE)


def test_pipeline_preprocessor_and_maskris_loss(data_root):
    dataset = DATASETS.build(_dataset_cfg(data_root))
    batch = pseudo_collate([dataset[i] for i in range(2)])
    torch.manual_seed(0)
    model = MODELS.build(maskris_cfg('sequential'))
    data = model.data_preprocessor(copy.deepcopy(batch), training=True)
    inputs, samples = data['inputs'], data['data_samples']
    assert inputs['imgs'].shape == (2, 3, IMG_SIZE, IMG_SIZE)
    assert inputs['input_ids'].shape == inputs['masked_input_ids'].shape \
        == (2, MAX_LEN)
    keep = torch.stack([s.img_keep_mask for s in samples]).bool()
    assert keep.float().mean().item() == pytest.approx(0.25)
    blanked = inputs['masked_imgs'].permute(1, 0, 2, 3)[:, ~keep]
    assert torch.count_nonzero(blanked) == 0
    kept = inputs['masked_imgs'].permute(1, 0, 2, 3)[:, keep]
    assert torch.equal(kept, inputs['imgs'].permute(1, 0, 2, 3)[:, keep])
    losses = model(**data, mode='loss')
    assert set(losses) == {'clean.loss_ce', 'clean.acc_seg',
                           'distill.loss_ce'}
    loss, _ = model.parse_losses(losses)
    loss.backward()
    assert torch.isfinite(loss)


def test_runner_trains_sequential_maskris_and_checkpoint_loads_plain(
        data_root, tmp_path):
    cfg = Config(
        dict(
            default_scope='mmris',
            work_dir=str(tmp_path),
            model=maskris_cfg('sequential'),
            train_dataloader=dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=_dataset_cfg(data_root)),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=2),
            optim_wrapper=dict(
                optimizer=dict(type='AdamW', lr=1e-3),
                clip_grad=dict(max_norm=1.0)),
            default_hooks=dict(
                logger=dict(type='LoggerHook', interval=1),
                checkpoint=dict(
                    type='CheckpointHook', interval=2, by_epoch=False)),
            randomness=dict(seed=0),
            env_cfg=dict(dist_cfg=dict(backend='gloo'))))
    runner = Runner.from_cfg(cfg)
    before = copy.deepcopy(runner.model.state_dict())
    runner.train()
    hub = runner.message_hub
    for key in ('loss', 'clean.loss_ce', 'clean.acc_seg', 'distill.loss_ce',
                'grad_norm'):
        assert f'train/{key}' in hub.log_scalars, key
    assert runner.optim_wrapper.inner_count == 2  # one count per step
    after = runner.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)

    ckpt = torch.load(
        osp.join(str(tmp_path), 'iter_2.pth'), weights_only=False)
    plain = MODELS.build(tiny_segmentor_cfg())
    plain.load_state_dict(ckpt['state_dict'], strict=True)
    for key, value in plain.state_dict().items():
        assert torch.equal(value, after[key])
