import numpy as np
import pytest
import torch
from mmseg.structures import SegDataSample

from mmris.datasets.transforms import PackRISInputs


def results(h=24, w=32, masked=True):
    rng = np.random.default_rng(0)
    out = dict(
        img=rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        gt_seg_map=(rng.random((h, w)) > 0.5).astype(np.uint8),
        input_ids=np.arange(20, dtype=np.int64),
        attention_mask=np.ones(20, dtype=np.int64),
        img_path='x.jpg', ori_shape=(48, 64), img_shape=(h, w),
        scale_factor=(0.5, 0.5), text='the red circle', ref_id=3, sent_id=9,
        image_id=1, ann_id=2, category_id=1,
        gt_mask_rle=dict(size=[48, 64], counts=b'abc'), segmentation=[[1]])
    if masked:
        out['masked_input_ids'] = np.arange(20, dtype=np.int64)[::-1].copy()
        out['img_keep_mask'] = (rng.random((h, w)) > 0.5).astype(np.uint8)
    return out


@pytest.mark.parametrize('share', [True, False])
def test_pack_types_and_shapes(share):
    r = results()
    packed = PackRISInputs(share_buffers=share)(dict(r))
    img, sample = packed['inputs'], packed['data_samples']
    assert isinstance(sample, SegDataSample)
    assert img.dtype == torch.uint8 and img.shape == (3, 24, 32)
    assert img.is_contiguous()
    assert (img.permute(1, 2, 0).numpy() == r['img']).all()  # BGR kept
    gt = sample.gt_sem_seg.data
    assert gt.dtype == torch.int64 and gt.shape == (1, 24, 32)
    assert (gt[0].numpy() == r['gt_seg_map']).all()
    for key in ('input_ids', 'attention_mask', 'masked_input_ids'):
        assert sample.get(key).dtype == torch.int64
        assert sample.get(key).shape == (20, )
        assert (sample.get(key).numpy() == r[key]).all()
    keep = sample.img_keep_mask
    assert keep.dtype == torch.uint8 and keep.shape == (24, 32)
    assert (keep.numpy() == r['img_keep_mask']).all()
    meta = sample.metainfo
    for key in ('img_path', 'ori_shape', 'img_shape', 'scale_factor', 'text',
                'ref_id', 'sent_id', 'image_id', 'ann_id', 'gt_mask_rle'):
        assert meta[key] == r[key]
    assert 'segmentation' not in meta


def test_shared_buffers_are_one_storage_per_dtype():
    packed = PackRISInputs()(results())
    sample = packed['data_samples']

    def ptr(t):
        return t.untyped_storage().data_ptr()

    assert ptr(packed['inputs']) == ptr(sample.img_keep_mask)
    assert ptr(sample.gt_sem_seg.data) == ptr(sample.input_ids) == ptr(
        sample.masked_input_ids)
    separate = PackRISInputs(share_buffers=False)(results())
    assert ptr(separate['inputs']) != ptr(
        separate['data_samples'].img_keep_mask)


def test_pack_without_masked_views():
    sample = PackRISInputs()(results(masked=False))['data_samples']
    assert 'masked_input_ids' not in sample
    assert 'img_keep_mask' not in sample
    assert sample.input_ids.shape == (20, )


def test_buffers_are_in_shared_memory_inside_workers():
    """A DataLoader worker packs straight into shared memory."""
    from torch.utils.data import DataLoader, Dataset

    class Samples(Dataset):

        def __len__(self):
            return 2

        def __getitem__(self, idx):
            packed = PackRISInputs()(results())
            return packed['inputs'].is_shared()

    assert list(DataLoader(Samples(), batch_size=None,
                           num_workers=1)) == [True, True]
    assert not PackRISInputs()(results())['inputs'].is_shared()


@pytest.mark.parametrize('share', [True, False])
def test_pack_non_contiguous_and_grey_images(share):
    r = results()
    flipped = r['img'][:, ::-1]  # e.g. BGR<->RGB views of other backends
    packed = PackRISInputs(share_buffers=share)(dict(r, img=flipped))
    assert (packed['inputs'].permute(1, 2, 0).numpy() == flipped).all()
    grey = r['img'][..., 0]
    packed = PackRISInputs(share_buffers=share)(dict(r, img=grey))
    assert packed['inputs'].shape == (1, 24, 32)
    assert (packed['inputs'][0].numpy() == grey).all()
