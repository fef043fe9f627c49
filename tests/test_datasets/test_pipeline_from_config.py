"""The data configs, built through the registries as the Runner does."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmris.registry import MODELS

CONFIGS = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')


@pytest.mark.parametrize('name', [
    'refcoco', 'refcoco+', 'refcocog_umd', 'refcocog_google', 'refshapes',
    'refcoco_mix'
])
def test_data_configs_parse(name):
    cfg = Config.fromfile(osp.join(CONFIGS, f'{name}.py'))
    assert cfg.train_dataloader.dataset.type == 'RefCocoDataset'
    assert cfg.train_dataloader.dataset.split == 'train'
    assert cfg.val_evaluator == dict(type='RISMetric')
    assert cfg.test_evaluator == dict(type='RISMetric')
    types = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert types == [
        'LoadReferImage', 'LoadReferMask', 'Resize', 'CheckReferMask',
        'TokenizeText', 'RandomPatchMask', 'RandomTextMask', 'PackRISInputs'
    ]
    assert 'RandomTextMask' not in [
        t.type for t in cfg.val_dataloader.dataset.pipeline
    ]


@pytest.fixture
def refshapes_cfg(tmp_path, refshapes_root, minilm_dir):
    """A user config over the tiny set that changes the tokenizer as the
    comment in ``refcoco.py`` says."""
    path = tmp_path / 'my_config.py'
    path.write_text(f'''
_base_ = [{osp.abspath(osp.join(CONFIGS, 'refshapes.py'))!r}]
default_scope = 'mmris'
tokenizer = {minilm_dir!r}
train_dataloader = dict(
    batch_size=4,
    persistent_workers=False,
    dataset=dict(
        data_root={refshapes_root!r},
        pipeline=[
            dict(t, tokenizer=tokenizer) if 'tokenizer' in t else t
            for t in _base_.train_pipeline
        ]))
test_dataloader = dict(
    batch_size=4,
    persistent_workers=False,
    dataset=dict(
        data_root={refshapes_root!r},
        pipeline=[
            dict(t, tokenizer=tokenizer) if 'tokenizer' in t else t
            for t in _base_.test_pipeline
        ]))
''')
    return Config.fromfile(str(path))


def preprocessor():
    return MODELS.build(
        dict(
            type='RISDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True))


@pytest.mark.parametrize('workers', [0, 1])
def test_train_pipeline_from_config(refshapes_cfg, minilm_dir, workers):
    cfg = refshapes_cfg
    init_default_scope('mmris')
    tok_types = [t.type for t in cfg.train_dataloader.dataset.pipeline
                 if t.get('tokenizer') == minilm_dir]
    assert tok_types == ['TokenizeText', 'RandomTextMask']
    loader = Runner.build_dataloader(
        dict(cfg.train_dataloader, num_workers=workers), seed=0)
    assert loader.dataset.text_mode == 'random'
    ds = loader.dataset
    texts = {
        info['ref_id']: info['texts']
        for info in map(ds.get_data_info, range(len(ds)))
    }
    batch = next(iter(loader))
    assert len(batch['inputs']) == 4
    for img, sample in zip(batch['inputs'], batch['data_samples']):
        assert img.shape == (3, 448, 448) and img.dtype == torch.uint8
        assert sample.gt_sem_seg.data.shape == (1, 448, 448)
        assert sample.gt_sem_seg.data.unique().tolist() == [0, 1]
        assert sample.img_keep_mask.sum() == 49 * 32 * 32
        assert sample.masked_input_ids.shape == (20, )
        assert sample.input_ids[0] == 101
        assert sample.text in texts[sample.ref_id]
    data = preprocessor()(batch, training=True)
    inputs = data['inputs']
    assert inputs['imgs'].shape == (4, 3, 448, 448)
    assert inputs['input_ids'].shape == inputs['masked_input_ids'].shape == (
        4, 20)
    keep = torch.stack([s.img_keep_mask for s in batch['data_samples']])
    blanked = inputs['masked_imgs'].permute(1, 0, 2, 3)[:, keep == 0]
    assert (blanked == 0).all()
    kept = keep.bool().unsqueeze(1).expand_as(inputs['imgs'])
    assert torch.equal(inputs['masked_imgs'][kept], inputs['imgs'][kept])


def test_test_pipeline_from_config(refshapes_cfg):
    init_default_scope('mmris')
    loader = Runner.build_dataloader(
        dict(refshapes_cfg.test_dataloader, num_workers=0), seed=0)
    assert loader.dataset.split == 'testA'
    assert loader.dataset.text_mode == 'original'
    batch = next(iter(loader))
    for sample in batch['data_samples']:
        assert 'masked_input_ids' not in sample
        assert 'img_keep_mask' not in sample
        assert sample.ori_shape == (48, 64)
        assert sample.gt_mask_rle['size'] == [48, 64]
    data = preprocessor()(batch, training=False)
    assert 'masked_imgs' not in data['inputs']
