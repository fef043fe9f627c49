from collections import defaultdict
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.utils.data import get_worker_info

from mmris.registry import TRANSFORMS


def to_tensors(arrays: Dict[str, Tuple[np.ndarray, type]],
               share_buffers: bool = True) -> Dict[str, torch.Tensor]:
    """Copy arrays into tensors of the given dtypes.

    With ``share_buffers`` all tensors of one dtype are views into one
    buffer, so a DataLoader worker sends one shared-memory segment per
    dtype instead of one per tensor (each segment costs a file descriptor
    round trip); inside a worker the buffers are put in shared memory before
    they are filled, which saves the copy torch would make when sending them.
    See ``tools/analysis/benchmark_data.py``.

    Args:
        arrays (dict): name -> (array, dtype of the tensor).
        share_buffers (bool): See above. Defaults to True.

    Returns:
        dict: name -> contiguous tensor of the array's shape.
    """
    if not share_buffers:
        return {
            k: torch.from_numpy(np.ascontiguousarray(a, dtype=d))
            for k, (a, d) in arrays.items()
        }
    groups = defaultdict(list)
    for name, (array, dtype) in arrays.items():
        groups[np.dtype(dtype)].append((name, array))
    tensors = {}
    for dtype, items in groups.items():
        shared = torch.empty(
            sum(a.size for _, a in items),
            dtype=torch.from_numpy(np.empty(0, dtype)).dtype)
        if get_worker_info() is not None:
            shared.share_memory_()
        buffer = shared.numpy()
        start = 0
        for name, array in items:
            end = start + array.size
            np.copyto(
                buffer[start:end].reshape(array.shape), array,
                casting='unsafe')
            tensors[name] = shared[start:end].view(array.shape)
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
        if img.ndim == 2:
            img = img[..., None]
        arrays = dict(inputs=(img.transpose(2, 0, 1), img.dtype))
        if 'gt_seg_map' in results:
            arrays['gt_sem_seg'] = (results['gt_seg_map'][None], np.int64)
        for k in self.data_keys:
            if k in results:
                arrays[k] = (results[k], results[k].dtype)
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
