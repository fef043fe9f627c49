import warnings
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile

from mmris.registry import TRANSFORMS
from ..masks import decode_rle, segmentation_to_rle


def _describe(results: dict) -> str:
    """Name a sample in error messages: ref/sentence ids and image file."""
    ids = ', '.join(f'{k} {results[k]}' for k in ('ref_id', 'sent_id',
                                                  'ann_id') if k in results)
    return f'{ids} (image {results.get("img_path")!r})'


@TRANSFORMS.register_module()
class LoadReferImage(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with clear errors for bad image files.

    A missing file and a file the backend cannot decode (not an image,
    corrupt, or cut short: cv2 and pillow both reject a truncated JPEG)
    raise an error naming the file and the sample, instead of a bare
    ``AssertionError``/``None``.

    Required Keys:

    - img_path

    Added Keys:

    - img (np.uint8 HxWx3, BGR with the default ``color_type``)
    - img_shape
    - ori_shape

    Args:
        color_type (str): ``mmcv.imfrombytes`` flag. Defaults to
            ``'color_ignore_orientation'``: REFER/COCO masks are drawn on
            the stored pixels, so an EXIF rotation must not be applied (the
            reference code, with PIL, does not apply it either).
        **kwargs: ``LoadImageFromFile`` arguments (``imdecode_backend``,
            ``to_float32``, ``backend_args``), except ``ignore_empty``: a
            missing image is always an error.
    """

    def __init__(self,
                 color_type: str = 'color_ignore_orientation',
                 **kwargs) -> None:
        if kwargs.get('ignore_empty'):
            raise ValueError('LoadReferImage does not support ignore_empty: '
                             'a missing image is always an error')
        super().__init__(color_type=color_type, **kwargs)

    def transform(self, results: dict) -> dict:
        filename = results['img_path']
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'image file {filename!r} does not exist '
                f'(needed by {_describe(results)})') from e
        try:
            img = mmcv.imfrombytes(
                img_bytes,
                flag=self.color_type,
                backend=self.imdecode_backend)
        except Exception as e:
            img, error = None, e
        else:
            error = None
        if img is None:
            raise ValueError(
                f'image file {filename!r} could not be decoded with the '
                f'{self.imdecode_backend!r} backend: expected a JPEG or PNG '
                f'image; the file may be corrupt or truncated '
                f'({error or "no image"}; needed by {_describe(results)})')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadReferMask(BaseTransform):
    """Load the referred object's mask into ``gt_seg_map``.

    The dataset's ``segmentation`` may be polygons, uncompressed RLE or
    compressed RLE (what ``RefCocoDataset(encode_masks=True)`` stores); it
    is converted to compressed RLE if needed, then decoded.

    Required Keys:

    - segmentation
    - height, width (the image size of the annotation)
    - img (optional: when present its size must match the mask's)

    Added Keys:

    - gt_seg_map (np.uint8 HxW in {0, 1})
    - gt_mask_rle (compressed COCO RLE at the original size)
    - seg_fields (``'gt_seg_map'`` appended, for mmseg transforms)
    """

    def transform(self, results: dict) -> dict:
        height, width = results['height'], results['width']
        rle = segmentation_to_rle(
            results['segmentation'], height, width,
            where=f'segmentation of {_describe(results)}')
        mask = decode_rle(rle)
        if 'img' in results and results['img'].shape[:2] != mask.shape:
            raise ValueError(
                f'{_describe(results)}: the image is '
                f'{results["img"].shape[0]}x{results["img"].shape[1]} (HxW) '
                f'but its annotation says {height}x{width}')
        if not mask.any():
            raise ValueError(f'{_describe(results)}: the referred mask is '
                             'empty at the original image size')
        results['gt_seg_map'] = mask
        results['gt_mask_rle'] = rle
        results.setdefault('seg_fields', [])
        if 'gt_seg_map' not in results['seg_fields']:
            results['seg_fields'].append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'


@TRANSFORMS.register_module()
class CheckReferMask(BaseTransform):
    """Check that the referred mask survived resizing (not all zeros).

    Put it after ``Resize``: a tiny object can vanish under nearest
    resizing, which would train on / evaluate an empty target.

    Required Keys:

    - gt_seg_map

    Args:
        on_empty (str): ``'error'`` raises naming the sample, ``'skip'``
            returns None (``BaseDataset`` then loads another sample in
            training; in ``test_mode`` it raises), ``'warn'`` warns and keeps
            the sample. Defaults to ``'error'``.
    """

    ON_EMPTY = ('error', 'skip', 'warn')

    def __init__(self, on_empty: str = 'error') -> None:
        if on_empty not in self.ON_EMPTY:
            raise ValueError(
                f'on_empty must be one of {self.ON_EMPTY}, got {on_empty!r}')
        self.on_empty = on_empty

    def transform(self, results: dict) -> Optional[dict]:
        if results['gt_seg_map'].any():
            return results
        msg = (f'{_describe(results)}: the referred mask is empty after '
               f'resizing to {results["gt_seg_map"].shape} (HxW); expected '
               'at least one foreground pixel')
        if self.on_empty == 'error':
            raise ValueError(msg + " (set CheckReferMask(on_empty='skip') "
                             'to drop such samples)')
        if self.on_empty == 'skip':
            return None
        warnings.warn(msg)
        return results

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(on_empty='{self.on_empty}')"
