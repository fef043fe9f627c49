import itertools
import json
import os.path as osp

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from mmcv.transforms import Resize

from mmris.datasets.transforms import (CheckReferMask, LoadReferImage,
                                       LoadReferMask)


@pytest.fixture
def sample(refshapes_root, make_dataset):
    """Data info of the first val sentence of the tiny dataset."""
    return make_dataset(refshapes_root, 'val').get_data_info(0)


@pytest.fixture
def polygons(refshapes_root, sample):
    with open(osp.join(refshapes_root, 'instances.json')) as f:
        anns = json.load(f)['annotations']
    return next(a for a in anns if a['id'] == sample['ann_id'])['segmentation']


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_load_image(sample, backend):
    results = LoadReferImage(imdecode_backend=backend)(dict(sample))
    assert results['img'].shape == (48, 64, 3)
    assert results['img'].dtype == np.uint8
    assert results['ori_shape'] == results['img_shape'] == (48, 64)


def test_load_image_missing_file(sample, tmp_path):
    path = str(tmp_path / 'gone.jpg')
    with pytest.raises(FileNotFoundError) as e:
        LoadReferImage()(dict(sample, img_path=path))
    assert f"image file '{path}' does not exist" in str(e.value)
    assert f'ref_id {sample["ref_id"]}' in str(e.value)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_load_image_undecodable_file(sample, tmp_path, backend):
    path = tmp_path / 'garbage.jpg'
    path.write_bytes(b'this is not an image' * 10)
    with pytest.raises(ValueError,
                       match=rf"image file '{path}' could not be decoded "
                       f"with the '{backend}' backend: expected a JPEG"):
        LoadReferImage(imdecode_backend=backend)(
            dict(sample, img_path=str(path)))


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_load_image_truncated_jpeg(sample, tmp_path, backend):
    with open(sample['img_path'], 'rb') as f:
        data = f.read()
    path = tmp_path / 'cut.jpg'
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError) as e:
        LoadReferImage(imdecode_backend=backend)(
            dict(sample, img_path=str(path)))
    assert f"image file '{path}' could not be decoded" in str(e.value)
    assert 'corrupt or truncated' in str(e.value)
    assert f'ref_id {sample["ref_id"]}' in str(e.value)


def test_mask_from_polygons_and_rle_agree(sample, polygons):
    h, w = sample['height'], sample['width']
    compressed = mask_utils.merge(mask_utils.frPyObjects(polygons, h, w))
    expected = mask_utils.decode(compressed)
    assert expected.sum() > 0
    runs = itertools.groupby(expected.flatten(order='F'))
    uncompressed = dict(size=[h, w], counts=[len(list(g)) for _, g in runs])
    if expected[0, 0]:  # uncompressed RLE counts start with zeros
        uncompressed['counts'].insert(0, 0)
    forms = dict(
        polygons=polygons,
        uncompressed=uncompressed,
        compressed_bytes=compressed,
        compressed_str=dict(size=[h, w],
                            counts=compressed['counts'].decode()))
    for name, seg in forms.items():
        results = LoadReferMask()(dict(sample, segmentation=seg))
        mask = results['gt_seg_map']
        assert mask.dtype == np.uint8 and mask.shape == (h, w), name
        assert np.array_equal(mask, expected), name
        assert isinstance(results['gt_mask_rle']['counts'], bytes)
        assert np.array_equal(
            mask_utils.decode(results['gt_mask_rle']), expected)
        assert results['seg_fields'] == ['gt_seg_map']


def test_mask_of_dataset_equals_polygon_raster(sample, polygons):
    results = LoadReferMask()(dict(sample))
    expected = LoadReferMask()(dict(sample, segmentation=polygons))
    assert np.array_equal(results['gt_seg_map'], expected['gt_seg_map'])
    assert set(np.unique(results['gt_seg_map'])) == {0, 1}


def test_mask_size_must_match_image(sample):
    results = LoadReferImage()(dict(sample, height=40, width=60))
    with pytest.raises(ValueError,
                       match=r'the image is 48x64 \(HxW\) but its annotation '
                       'says 40x60'):
        LoadReferMask()(dict(results, segmentation=[[1, 1, 30, 1, 30, 30]]))


def test_rle_size_must_match_image(sample):
    rle = mask_utils.encode(np.asfortranarray(np.ones((10, 10), np.uint8)))
    with pytest.raises(ValueError,
                       match=r'RLE size \[10, 10\] does not match the image '
                       r'size \[48, 64\]'):
        LoadReferMask()(dict(sample, segmentation=rle))


def test_empty_mask_at_original_size(sample):
    empty = mask_utils.encode(np.zeros((48, 64), np.uint8, order='F'))
    with pytest.raises(ValueError,
                       match=rf'ref_id {sample["ref_id"]}.*empty at the '
                       'original image size'):
        LoadReferMask()(dict(sample, segmentation=empty))


def vanishing_sample(sample):
    """A 2x2-pixel object that nearest resizing to 8x8 loses."""
    results = LoadReferImage()(dict(sample))
    results = LoadReferMask()(
        dict(results, segmentation=[[33, 21, 35, 21, 35, 23, 33, 23]]))
    assert results['gt_seg_map'].sum() > 0
    return Resize(scale=(8, 8), keep_ratio=False)(results)


def test_mask_that_vanishes_after_resize(sample):
    results = vanishing_sample(sample)
    with pytest.raises(ValueError,
                       match=rf'ref_id {sample["ref_id"]}.*empty after '
                       r'resizing to \(8, 8\)'):
        CheckReferMask()(results)
    assert CheckReferMask(on_empty='skip')(vanishing_sample(sample)) is None
    with pytest.warns(UserWarning, match='empty after resizing'):
        assert CheckReferMask(on_empty='warn')(vanishing_sample(sample))
    with pytest.raises(ValueError, match='on_empty must be one of'):
        CheckReferMask(on_empty='ignore')


def test_check_passes_a_visible_mask(sample):
    results = LoadReferMask()(LoadReferImage()(dict(sample)))
    results = Resize(scale=(32, 24), keep_ratio=False)(results)
    assert CheckReferMask()(results) is results


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_exif_orientation_is_ignored(sample, tmp_path, backend):
    """Masks are drawn on the stored pixels: an EXIF rotation tag must not
    turn the image (it would no longer match its mask)."""
    from PIL import Image
    stored = Image.open(sample['img_path'])
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to display
    path = tmp_path / 'rotated.jpg'
    stored.save(path, exif=exif.tobytes(), quality=95)
    results = LoadReferImage(imdecode_backend=backend)(
        dict(sample, img_path=str(path)))
    assert results['img'].shape == (48, 64, 3)
    results = LoadReferMask()(results)  # sizes agree
    assert results['gt_seg_map'].shape == (48, 64)
    rotated = LoadReferImage(color_type='color', imdecode_backend=backend)(
        dict(sample, img_path=str(path)))
    assert rotated['img'].shape == (64, 48, 3)  # what we avoid
