import copy
from typing import Sequence

import torch
from mmcv.cnn import build_activation_layer
from mmengine.model import caffe2_xavier_init
from torch import Tensor, nn

from mmris.registry import MODELS
from .base_ris_head import BaseRISHead, RISFeatures


@MODELS.register_module()
class CARISHead(BaseRISHead):
    """Head of CARIS (`CARIS: Context-Aware Referring Image Segmentation
    <https://dl.acm.org/doi/10.1145/3581783.3612117>`_).

    A vision-language pixel decoder (by default
    :class:`VLMSDeformAttnPixelDecoder`) turns the visual features and the
    word features into a stride-4 map, updated words and updated prompts.
    Mask features come from ``num_mask_convs`` 1x1 convs (activation
    between them); a shared MLP of ``num_embed_fcs`` linears embeds the
    two classes: background from the mean of the prompts, foreground from
    the first word ([CLS]). Logits are their dot products with the mask
    features: ``[B, 2, H_0, W_0]`` at the finest feature resolution (stride
    4, 112x112 for a 448x448 input with Swin).

    Parameters outside the pixel decoder with 256 channels: mask convs 3 x
    65,792 + class MLP 3 x 65,792 = 394,752; with the Swin-B pixel decoder
    (27,780,288) the head has 28,175,040.

    Args:
        in_channels (Sequence[int]): Channels of the visual features, fine
            to coarse.
        text_channels (int): Width of the text features. Defaults to 768.
        feat_channels (int): Width of the decoder. Defaults to 256.
        out_channels (int): Width of mask features and class embeddings.
            Defaults to 256.
        num_prompts (int): Learnable decoder prompts. Defaults to 5.
        pixel_decoder (dict): Config of the pixel decoder; ``in_channels``,
            ``text_channels``, ``feat_channels`` and ``num_prompts`` are
            filled in from this head.
        num_mask_convs (int): 1x1 convs producing the mask features.
            Defaults to 3.
        num_embed_fcs (int): Linears of the class-embedding MLP.
            Defaults to 3.
        act_cfg (dict): Activation between the convs / linears.
            Defaults to ReLU.
        **kwargs: :class:`BaseRISHead` arguments (``num_classes`` must be
            2, ``loss_decode``, ``align_corners``, ``ignore_index``,
            ``init_cfg``).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 text_channels: int = 768,
                 feat_channels: int = 256,
                 out_channels: int = 256,
                 num_prompts: int = 5,
                 pixel_decoder: dict = dict(
                     type='VLMSDeformAttnPixelDecoder'),
                 num_mask_convs: int = 3,
                 num_embed_fcs: int = 3,
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 **kwargs):
        super().__init__(**kwargs)
        if self.num_classes != 2:
            raise ValueError('CARISHead predicts background (from the '
                             'prompts) and foreground (from [CLS]): '
                             f'num_classes must be 2, got {self.num_classes}')
        pixel_decoder = copy.deepcopy(pixel_decoder)
        pixel_decoder.update(
            in_channels=list(in_channels),
            text_channels=text_channels,
            feat_channels=feat_channels,
            num_prompts=num_prompts)
        self.pixel_decoder = MODELS.build(pixel_decoder)
        self.mask_convs = self._stack(
            [nn.Conv2d(feat_channels, feat_channels, 1)
             for _ in range(num_mask_convs - 1)] +
            [nn.Conv2d(feat_channels, out_channels, 1)], act_cfg)
        self.class_embed = self._stack(
            [nn.Linear(feat_channels, feat_channels)
             for _ in range(num_embed_fcs - 1)] +
            [nn.Linear(feat_channels, out_channels)], act_cfg)

    @staticmethod
    def _stack(layers: list, act_cfg: dict) -> nn.Sequential:
        """``layers`` with an activation between consecutive ones."""
        modules = []
        for i, layer in enumerate(layers):
            if i > 0:
                modules.append(build_activation_layer(act_cfg))
            modules.append(layer)
        return nn.Sequential(*modules)

    def init_weights(self) -> None:
        """Pixel decoder init, caffe2 Xavier for mask convs and MLP."""
        super().init_weights()
        for m in [*self.mask_convs, *self.class_embed]:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                caffe2_xavier_init(m, bias=0)

    def forward(self, inputs: RISFeatures) -> Tensor:
        """Logits [B, 2, H_0, W_0]: channel 0 background, 1 the referred
        object."""
        visual_feats, text_feats, text_mask = inputs
        fpn_feat, words, prompts = self.pixel_decoder(
            list(visual_feats), text_feats, text_mask)
        mask_feats = self.mask_convs(fpn_feat)
        class_embeds = self.class_embed(
            torch.stack([prompts.mean(1), words[:, 0]], 1))
        return torch.einsum('bqc,bchw->bqhw', class_embeds, mask_feats)
