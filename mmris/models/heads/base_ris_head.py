from abc import ABCMeta, abstractmethod
from typing import List, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.utils import ConfigType, OptMultiConfig, SampleList
from torch import Tensor, nn

from mmris.registry import MODELS

#: What a RIS head receives: multi-scale visual features, the text
#: encoder's token features [B, L, C] and the text attention mask [B, L].
RISFeatures = Tuple[List[Tensor], Tensor, Tensor]


class BaseRISHead(BaseModule, metaclass=ABCMeta):
    """Base class of referring-segmentation heads.

    A RIS head turns visual and text features into per-class logits at a
    reduced resolution. Unlike mmseg's ``BaseDecodeHead`` it has no implicit
    ``conv_seg`` layer: each head owns exactly the layers of its paper.

    Args:
        num_classes (int): Output channels; RIS uses 2 (background,
            referred object). Defaults to 2.
        loss_decode (dict | list[dict]): Loss config(s), applied to logits
            upsampled to the ground-truth size.
        align_corners (bool): ``align_corners`` of every upsampling of the
            logits. Defaults to True (as CARIS/LAVT).
        ignore_index (int): Label ignored by the loss. Defaults to 255.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 num_classes: int = 2,
                 loss_decode: Union[ConfigType, Sequence[ConfigType]] = dict(
                     type='RISCrossEntropyLoss', class_weight=[0.9, 1.1]),
                 align_corners: bool = True,
                 ignore_index: int = 255,
                 init_cfg: OptMultiConfig = None):
        super().__init__(init_cfg)
        self.num_classes = num_classes
        self.out_channels = num_classes
        self.align_corners = align_corners
        self.ignore_index = ignore_index
        if isinstance(loss_decode, dict):
            loss_decode = [loss_decode]
        self.loss_decode = nn.ModuleList(
            [MODELS.build(cfg) for cfg in loss_decode])

    @abstractmethod
    def forward(self, inputs: RISFeatures) -> Tensor:
        """Return logits ``[B, num_classes, h, w]``."""

    def loss(self, inputs: RISFeatures,
             batch_data_samples: SampleList) -> dict:
        return self.loss_by_feat(self.forward(inputs), batch_data_samples)

    def predict(self, inputs: RISFeatures, batch_img_metas: List[dict]) -> Tensor:
        return self.predict_by_feat(self.forward(inputs), batch_img_metas)

    def loss_by_feat(self, seg_logits: Tensor,
                     batch_data_samples: SampleList) -> dict:
        """Losses of logits against ``gt_sem_seg`` (upsampled to its size)."""
        seg_label = torch.stack(
            [s.gt_sem_seg.data for s in batch_data_samples]).squeeze(1)
        seg_logits = resize(
            seg_logits,
            size=seg_label.shape[-2:],
            mode='bilinear',
            align_corners=self.align_corners,
            warning=False)
        losses = dict()
        for loss_decode in self.loss_decode:
            losses[loss_decode.loss_name] = losses.get(
                loss_decode.loss_name, 0) + loss_decode(
                    seg_logits, seg_label, ignore_index=self.ignore_index)
        losses['acc_seg'] = accuracy(
            seg_logits, seg_label, ignore_index=self.ignore_index)
        return losses

    def predict_by_feat(self, seg_logits: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """Upsample logits to the padded network input size."""
        size = batch_img_metas[0].get('pad_shape',
                                      batch_img_metas[0]['img_shape'])
        return resize(
            seg_logits,
            size=size[:2],
            mode='bilinear',
            align_corners=self.align_corners,
            warning=False)
