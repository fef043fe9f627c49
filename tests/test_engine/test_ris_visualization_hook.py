import glob
import os.path as osp
import uuid

import mmcv
import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.utils.data import Dataset

from mmris.engine import RISVisualizationHook

H, W = 24, 32


class ShiftedBoxModel(BaseModel):
    """Predicts the ground-truth box shifted right by 4 pixels."""

    def forward(self, inputs, data_samples=None, mode='tensor'):
        outputs = []
        for sample in data_samples:
            gt = sample.gt_sem_seg.data
            pred = torch.roll(gt, 4, dims=-1)
            sample.pred_sem_seg = PixelData(data=pred)
            sample.input_pred_sem_seg = PixelData(data=pred)
            outputs.append(sample)
        return outputs


class ImageSentences(Dataset):
    """Real image files on disk, one sentence per sample."""

    metainfo = dict(classes=('background', 'object'))

    def __init__(self, root, num=5):
        self.samples = []
        rng = np.random.default_rng(0)
        for i in range(num):
            path = osp.join(root, f'img{i}.jpg')
            mmcv.imwrite(rng.integers(0, 256, (H, W, 3), np.uint8), path)
            gt = torch.zeros(1, H, W, dtype=torch.long)
            gt[:, 4:12, 4:20] = 1
            self.samples.append((path, gt, f'object number {i}', 100 + i))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, idx):
        path, gt, text, sent_id = self.samples[idx]
        sample = SegDataSample(
            metainfo=dict(img_path=path, text=text, sent_id=sent_id))
        sample.gt_sem_seg = PixelData(data=gt.clone())
        return dict(inputs=torch.zeros(3, H, W), data_samples=sample)


def make_runner(tmp_path, **hook_cfg):
    return Runner(
        model=ShiftedBoxModel(),
        work_dir=str(tmp_path / 'work'),
        val_dataloader=dict(
            dataset=ImageSentences(str(tmp_path)),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        val_evaluator=dict(type='RISMetric'),
        val_cfg=dict(type='ValLoop'),
        visualizer=dict(
            type='RISLocalVisualizer',
            name=uuid.uuid4().hex,
            vis_backends=[dict(type='LocalVisBackend')]),
        default_hooks=dict(
            visualization=dict(type='RISVisualizationHook', **hook_cfg)),
        default_scope='mmris',
        experiment_name=uuid.uuid4().hex,
        log_level='WARNING')


def test_every_nth_sample_is_saved_as_png(tmp_path):
    runner = make_runner(tmp_path, draw=True, interval=2, out_dir='ris_vis')
    metrics = runner.val()
    # the box shifted by 4 of 16 columns: IoU 12 / 20
    assert metrics['oIoU'] == pytest.approx(60.0)
    run_dir = osp.join(runner.work_dir, runner.timestamp)
    names = ['val_img0_100_0.png', 'val_img2_102_0.png', 'val_img4_104_0.png']
    for folder in ('vis_data/vis_image', 'ris_vis'):
        files = sorted(glob.glob(osp.join(run_dir, folder, '*.png')))
        assert [osp.basename(f) for f in files] == names
    for name in names:
        drawn = mmcv.imread(osp.join(run_dir, 'ris_vis', name))
        assert drawn.shape[1] == 3 * W and drawn.shape[0] > H
    # the count restarts each epoch: same samples again
    runner.val()
    assert len(glob.glob(osp.join(run_dir, 'ris_vis', '*.png'))) == 3


def test_draw_false_saves_nothing(tmp_path):
    runner = make_runner(tmp_path, draw=False)
    runner.val()
    assert not glob.glob(
        osp.join(runner.work_dir, '**', '*.png'), recursive=True)


def test_bad_interval():
    with pytest.raises(ValueError, match='interval'):
        RISVisualizationHook(draw=True, interval=0)
