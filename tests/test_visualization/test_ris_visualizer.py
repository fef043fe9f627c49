import os.path as osp
import uuid

import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from pycocotools import mask as mask_utils

from mmris.registry import VISUALIZERS
from mmris.visualization import RISLocalVisualizer

H, W = 40, 60
GT_COLOR, PRED_COLOR = (0, 200, 0), (230, 40, 40)


def new_visualizer(**kwargs):
    return VISUALIZERS.build(
        dict(type='RISLocalVisualizer', name=uuid.uuid4().hex, **kwargs))


def make_case(text='the dog on the left'):
    image = np.random.default_rng(0).integers(0, 256, (H, W, 3), np.uint8)
    gt = np.zeros((H, W), np.uint8)
    gt[5:20, 10:30] = 1  # 300 px
    pred = np.zeros((H, W), np.int64)
    pred[10:25, 20:40] = 1  # 300 px, 100 shared
    sample = SegDataSample(
        metainfo=dict(
            text=text,
            sent_id=3,
            gt_mask_rle=mask_utils.encode(np.asfortranarray(gt))))
    sample.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
    # input-size ground truth that disagrees: the RLE must win
    sample.gt_sem_seg = PixelData(data=torch.ones(1, 16, 16, dtype=torch.long))
    return image, gt, pred, sample


def blend(image, mask, color, alpha=0.5):
    out = image.astype(float)
    out[mask == 1] = (1 - alpha) * out[mask == 1] + alpha * np.array(color)
    return out


def read_rgb(path):
    return mmcv.imread(path, channel_order='rgb')


def test_panels_image_ground_truth_prediction(tmp_path):
    image, gt, pred, sample = make_case()
    out_file = str(tmp_path / 'vis.png')
    new_visualizer().add_datasample('x', image, sample, out_file=out_file)
    drawn = read_rgb(out_file)
    caption = drawn.shape[0] - H
    assert drawn.shape[1] == 3 * W and caption > 0
    panels = drawn[caption:].astype(float)
    assert (panels[:, :W] == image).all()
    assert np.abs(panels[:, W:2 * W] - blend(image, gt, GT_COLOR)).max() <= 1
    assert np.abs(panels[:, 2 * W:] - blend(image, pred, PRED_COLOR)).max() \
        <= 1


def test_long_sentences_wrap_into_a_taller_caption(tmp_path):
    heights = []
    for text in ('a dog', 'the small brown dog on the far left next to the '
                 'red car and the woman in a long blue coat'):
        image, _, _, sample = make_case(text)
        out_file = str(tmp_path / f'{len(text)}.png')
        new_visualizer().add_datasample('x', image, sample, out_file=out_file)
        drawn = read_rgb(out_file)
        assert drawn.shape[1] == 3 * W  # never wider than the panels
        heights.append(drawn.shape[0])
    assert heights[1] > heights[0]


def test_without_ground_truth_two_panels_and_masks_resized(tmp_path):
    image, _, _, _ = make_case()
    sample = SegDataSample(metainfo=dict(text='a dog'))
    small = torch.zeros(1, H // 2, W // 2, dtype=torch.long)
    small[:, :10, :15] = 1  # the top-left quarter at half size
    sample.input_pred_sem_seg = PixelData(data=small)
    out_file = str(tmp_path / 'vis.png')
    new_visualizer().add_datasample('x', image, sample, out_file=out_file)
    drawn = read_rgb(out_file)
    assert drawn.shape[1] == 2 * W
    pred = np.zeros((H, W), np.uint8)
    pred[:20, :30] = 1
    panel = drawn[drawn.shape[0] - H:, W:].astype(float)
    assert np.abs(panel - blend(image, pred, PRED_COLOR)).max() <= 1


def test_goes_to_the_vis_backends(tmp_path):
    image, _, _, sample = make_case()
    vis = new_visualizer(
        vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path))
    assert isinstance(vis, RISLocalVisualizer)
    vis.add_datasample('val_dog_3', image, sample, step=7)
    path = osp.join(tmp_path, 'vis_data', 'vis_image', 'val_dog_3_7.png')
    assert read_rgb(path).shape[1] == 3 * W


def test_bad_image_is_reported():
    _, _, _, sample = make_case()
    with pytest.raises(ValueError, match=r'HxWx3'):
        new_visualizer().add_datasample('x', np.zeros((H, W)), sample)
