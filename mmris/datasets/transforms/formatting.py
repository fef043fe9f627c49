from collections import defaultdict
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.utils.data import get_worker_info

from mmris.registry import TRANSFORMS


def _fill(dst: np.ndarray, src: np.ndarray, hwc_to_chw: bool) -> None:
    """Copy ``src`` into ``dst``; HxWxC into CxHxW when ``hwc_to_chw``."""
    if not hwc_to_chw:
        np.copyto(dst, src, casting='unsafe')
    elif dst.dtype == src.dtype and src.flags.c_contiguous:
        cv2.split(src, list(dst))  # ~10x faster than a transposed copy
    else:
        np.copyto(dst, src.transpose(2, 0, 1), casting='unsafe')


def to_tensors(arrays: Dict[str, Tuple[np.ndarray, type, bool]],
               share_buffers: bool = True) -> Dict[str, torch.Tensor]:
    """Copy arrays into tensors of the given dtypes.

    With ``share_buffers`` all tensors of one dtype are views into one
    buffer, so a DataLoader worker sends one shared-memory segment per
    dtype instead of one per tensor (each segment costs a file descriptor
    round trip); inside a worker the buffers are put in shared memory before
    they are filled, which saves the copy torch would make when sending them.
    See ``tools/analysis/benchmark_data.py``.

    Args:
        arrays (dict): name -> (array, dtype of the tensor, whether to turn
            an HxWxC array into a CxHxW tensor).
        share_buffers (bool): See above. Defaults to True.

    Returns:
        dict: name -> contiguous tensor.
    """
    groups = defaultdict(list)
    for name, (array, dtype, hwc_to_chw) in arrays.items():
        if array.ndim == 2 and hwc_to_chw:
            array = array[..., None]
        shape = (array.shape[2], *array.shape[:2]) if hwc_to_chw \
            else array.shape
        key = np.dtype(dtype) if share_buffers else name
        groups[key].append((name, array, np.dtype(dtype), shape, hwc_to_chw))
    tensors = {}
    for items in groups.values():
        shared = torch.empty(
            sum(a.size for _, a, *_ in items),
            dtype=torch.from_numpy(np.empty(0, items[0][2])).dtype)
        if share_buffers and get_worker_info() is not None:
            shared.share_memory_()
        buffer = shared.numpy()
        start = 0
        for name, array, _, shape, hwc_to_chw in items:
            end = start + array.size
            _fill(buffer[start:end].reshape(shape), array, hwc_to_chw)
            tensors[name] = shared[start:end].view(shape)
            start = end
    return tensors


@TRANSFORMS.register_module()
class PackRISInputs(BaseTransform):
    """Pack a RIS sample into ``dict(inputs, data_samples)``.

    ``inputs`` is the image as a ``uint8`` tensor ``[3, H, W]`` (BGR as
    loaded; normalisation is the data preprocessor's job). The
    ``SegDataSample`` carries ``gt_sem_seg`` (``LongTensor[1, H, W]``), the
    text tensors listed in ``data_keys`` that are present (int64 ``[L]``
    ids, uint8 ``[H, W]`` keep mask) and the ``meta_keys`` that are present.
    The tensors are views into one buffer per dtype (``share_buffers``),
    which more than halves the cost of sending a sample out of a DataLoader
    worker.

    Required Keys:

    - img
    - gt_seg_map (optional)
    - input_ids, attention_mask, masked_input_ids, img_keep_mask (optional)

    Added Keys:

    - inputs
    - data_samples

    Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo.
        data_keys (Sequence[str]): Array keys packed as tensor data fields.
        share_buffers (bool): Pack the tensors as views into one buffer per
            dtype. Defaults to True.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = (
                     'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                     'text', 'ref_id', 'sent_id', 'image_id', 'ann_id',
                     'category_id', 'gt_mask_rle'),
                 data_keys: Sequence[str] = (
                     'input_ids', 'attention_mask', 'masked_input_ids',
                     'img_keep_mask'),
                 share_buffers: bool = True) -> None:
        self.meta_keys = tuple(meta_keys)
        self.data_keys = tuple(data_keys)
        self.share_buffers = share_buffers

    def transform(self, results: dict) -> dict:
        img = results['img']
        arrays = dict(inputs=(img, img.dtype, True))
        if 'gt_seg_map' in results:
            arrays['gt_sem_seg'] = (results['gt_seg_map'][None], np.int64,
                                    False)
        for k in self.data_keys:
            if k in results:
                arrays[k] = (results[k], results[k].dtype, False)
        tensors = to_tensors(arrays, self.share_buffers)
        data_sample = SegDataSample()
        if 'gt_sem_seg' in tensors:
            data_sample.gt_sem_seg = PixelData(data=tensors.pop('gt_sem_seg'))
        packed = dict(inputs=tensors.pop('inputs'))
        data_sample.set_data(tensors)
        data_sample.set_metainfo(
            {k: results[k]
             for k in self.meta_keys if k in results})
        packed['data_samples'] = data_sample
        return packed

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(meta_keys={self.meta_keys}, '
                f'data_keys={self.data_keys}, '
                f'share_buffers={self.share_buffers})')
