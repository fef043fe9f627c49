"""mmris.apis: init_model, inference_model, show_result on a tiny model."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmris.apis import inference_model, init_model, show_result
from mmris.datasets import RefCocoDataset
from mmris.utils import CheckpointMismatchError

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(ROOT, 'configs', 'maskris_tiny_refshapes_test.py')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    from mmris.datasets.refshapes import generate_refshapes
    root = str(tmp_path_factory.mktemp('refshapes'))
    generate_refshapes(
        root, num_images=dict(train=1, val=1, testA=1, testB=1),
        level='easy', width=64, height=48, seed=3)
    return root


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A checkpoint of the randomly initialised test model."""
    torch.manual_seed(0)
    model = init_model(CONFIG, device='cpu')
    path = str(tmp_path_factory.mktemp('ckpt') / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


@pytest.fixture(scope='module')
def model(checkpoint):
    return init_model(CONFIG, checkpoint, device='cpu')


def test_init_model_loads_the_checkpoint_in_eval_mode(model, checkpoint):
    assert not model.training
    assert isinstance(model.cfg, Config)
    saved = torch.load(checkpoint, weights_only=False)['state_dict']
    state = model.state_dict()
    assert set(state) == set(saved)
    assert all(torch.equal(state[k], saved[k]) for k in saved)


def test_init_model_rejects_a_checkpoint_of_another_config(checkpoint):
    with pytest.raises(CheckpointMismatchError, match='pixel_decoder'):
        init_model(
            CONFIG,
            checkpoint,
            device='cpu',
            cfg_options={
                'model.segmentor.decode_head.pixel_decoder.num_layers': 2
            })


def test_inference_gives_the_test_pipeline_prediction(model, data_root):
    """Same mask as the config's test pipeline (with the ground truth
    loading) and the model's predict give, at the original size."""
    cfg = model.cfg
    dataset = RefCocoDataset(
        data_root=data_root,
        ann_file='instances.json',
        split_file='refs(unc).p',
        data_prefix=dict(img_path='images/'),
        split='val',
        test_mode=True,
        pipeline=cfg.test_dataloader.dataset.pipeline)
    for idx in (0, 3):
        sample = dataset[idx]
        with torch.no_grad():
            expected = model.test_step(pseudo_collate([sample]))[0]
        meta = sample['data_samples'].metainfo
        mask = inference_model(model, meta['img_path'], meta['text'])
        assert mask.dtype == np.uint8 and mask.shape == (48, 64)
        assert np.array_equal(mask,
                              expected.pred_sem_seg.data[0].numpy())
        # a BGR array gives the same mask as the file
        array = mmcv.imread(meta['img_path'])
        assert np.array_equal(
            inference_model(model, array, meta['text']), mask)


def test_inference_rejects_bad_inputs(model, data_root):
    image = osp.join(data_root, 'images', 'refshapes_000000000000.jpg')
    with pytest.raises(ValueError, match='sentence'):
        inference_model(model, image, '  ')
    with pytest.raises(ValueError, match='HxWx3'):
        inference_model(model, np.zeros((4, 4), np.uint8), 'a cat')
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        inference_model(model, osp.join(data_root, 'missing.jpg'), 'a cat')


def test_show_result_overlays_mask_and_sentence_at_image_size(tmp_path):
    image = np.full((120, 200, 3), 100, np.uint8)
    mask = np.zeros((120, 200), np.uint8)
    mask[60:100, 20:80] = 1
    out = str(tmp_path / 'shown.png')
    drawn = show_result(image, mask, 'the box', out, color=(255, 0, 0))
    assert drawn.shape == image.shape
    assert np.array_equal(mmcv.imread(out), drawn)
    on = drawn[60:100, 20:80].reshape(-1, 3)
    assert (on[:, 2] > 150).all() and (on[:, 0] < 100).all()  # red (BGR)
    assert np.array_equal(drawn[60:, 100:], image[60:, 100:])
    assert (drawn[:5] < 100).all()  # darkened band with the text
    with pytest.raises(ValueError, match='differ in size'):
        show_result(image, mask[:10], 'x')
