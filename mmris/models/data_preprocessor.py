from numbers import Number
from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.utils import SampleList
from torch import Tensor

from mmris.registry import MODELS


@MODELS.register_module()
class RISDataPreProcessor(SegDataPreProcessor):
    """Batches images, text token ids and the MaskRIS masked views.

    On top of mmseg's ``SegDataPreProcessor`` (BGR->RGB, normalisation,
    padding of images and ``gt_sem_seg``, moving to the model's device) it
    stacks the per-sample text tensors and builds the masked image view.
    The image keep mask is applied *after* normalisation, so blanked pixels
    are exactly 0 (the mean colour in raw pixel space).

    ``forward`` returns ``dict(inputs=dict(...), data_samples=[...])`` with
    ``inputs`` holding ``imgs`` [B,3,H,W], ``input_ids`` and
    ``attention_mask`` [B,L], and, when the samples carry them,
    ``masked_imgs`` [B,3,H,W] and ``masked_input_ids`` [B,L].

    Args:
        mean (Sequence[Number], optional): Pixel mean of R, G, B.
        std (Sequence[Number], optional): Pixel std of R, G, B.
        size (tuple, optional): Fixed padded size (training).
        size_divisor (int, optional): Pad to a multiple of it (training).
            Without ``size`` and ``size_divisor`` the images of a batch must
            have the same size and are stacked as they are.
        pad_val (Number): Padding value of images. Defaults to 0.
        seg_pad_val (Number): Padding value of ``gt_sem_seg``.
            Defaults to 255.
        bgr_to_rgb (bool): Convert BGR (as loaded) to RGB. Defaults to True.
        rgb_to_bgr (bool): Convert RGB to BGR. Defaults to False.
        test_cfg (dict, optional): Padding at test time (``size`` or
            ``size_divisor``), as in mmseg.
    """

    def __init__(self,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 size: Optional[tuple] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: Number = 0,
                 seg_pad_val: Number = 255,
                 bgr_to_rgb: bool = True,
                 rgb_to_bgr: bool = False,
                 test_cfg: Optional[dict] = None):
        super().__init__(
            mean=mean,
            std=std,
            size=size,
            size_divisor=size_divisor,
            pad_val=pad_val,
            seg_pad_val=seg_pad_val,
            bgr_to_rgb=bgr_to_rgb,
            rgb_to_bgr=rgb_to_bgr,
            test_cfg=test_cfg)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Normalise, pad and stack a batch from the dataloader.

        Args:
            data (dict): ``inputs`` (list of uint8 [3,H,W]) and
                ``data_samples`` (list of ``SegDataSample`` with the data
                fields ``input_ids``, ``attention_mask`` and optionally
                ``masked_input_ids``, ``img_keep_mask``).
            training (bool): Whether this is a training batch.

        Returns:
            dict: ``dict(inputs=dict(...), data_samples=[...])``.
        """
        samples = data.get('data_samples')
        if not samples:
            raise ValueError(
                'RISDataPreProcessor needs `data_samples` carrying '
                '`input_ids` and `attention_mask` (see PackRISInputs).')
        sizes = [tuple(img.shape[-2:]) for img in data['inputs']]
        # mmseg's stack_batch needs size or size_divisor; without them
        # equally sized images are stacked as in its test path.
        pad_train = training and (self.size is not None
                                  or self.size_divisor is not None)
        batch = super().forward(data, training=pad_train)
        imgs, samples = batch['inputs'], batch['data_samples']
        inputs = dict(imgs=imgs)
        for key in ('input_ids', 'attention_mask'):
            inputs[key] = self._stack_field(samples, key, required=True)
        masked_ids = self._stack_field(samples, 'masked_input_ids')
        if masked_ids is not None:
            inputs['masked_input_ids'] = masked_ids
        keep = self._keep_masks(samples, sizes, imgs.shape[-2:])
        if keep is not None:
            inputs['masked_imgs'] = imgs * keep.unsqueeze(1).to(imgs.dtype)
        return dict(inputs=inputs, data_samples=samples)

    @staticmethod
    def _stack_field(samples: SampleList,
                     key: str,
                     required: bool = False) -> Optional[Tensor]:
        """Stack a per-sample 1-D tensor field into ``[B, L]``."""
        present = [key in s for s in samples]
        if not any(present) and not required:
            return None
        if not all(present):
            missing = [i for i, p in enumerate(present) if not p]
            raise KeyError(
                f'RISDataPreProcessor: data samples {missing} of the batch '
                f'have no `{key}` (every sample needs it'
                f'{"" if required else " when one has it"}).')
        values = [s.get(key) for s in samples]
        shapes = {tuple(v.shape) for v in values}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError(
                f'RISDataPreProcessor: `{key}` must be 1-D tensors of one '
                f'length in a batch (pad to max_length), got shapes '
                f'{sorted(shapes)}.')
        return torch.stack(values).long()

    def _keep_masks(self, samples: SampleList, sizes: List[tuple],
                    batch_size: torch.Size) -> Optional[Tensor]:
        """Stack ``img_keep_mask`` (nonzero keeps) padded like the images."""
        present = ['img_keep_mask' in s for s in samples]
        if not any(present):
            return None
        if not all(present):
            missing = [i for i, p in enumerate(present) if not p]
            raise KeyError(
                f'RISDataPreProcessor: data samples {missing} have no '
                '`img_keep_mask` while others have one.')
        masks = []
        for i, (sample, size) in enumerate(zip(samples, sizes)):
            mask = sample.img_keep_mask
            if tuple(mask.shape) != size:
                raise ValueError(
                    f'RISDataPreProcessor: img_keep_mask of sample {i} has '
                    f'shape {tuple(mask.shape)}, expected the image size '
                    f'{size} (HxW).')
            pad = (0, batch_size[1] - size[1], 0, batch_size[0] - size[0])
            masks.append(F.pad((mask != 0).float(), pad, value=1.0))
        return torch.stack(masks)
