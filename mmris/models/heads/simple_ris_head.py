from typing import Sequence

from mmcv.cnn import ConvModule, build_activation_layer
from mmseg.models.utils import resize
from mmseg.utils import ConfigType
from torch import Tensor, nn

from mmris.registry import MODELS
from .base_ris_head import BaseRISHead, RISFeatures


@MODELS.register_module()
class SimpleFusionHead(BaseRISHead):
    """A light RIS baseline: text-conditioned (FiLM) FPN.

    The sentence is pooled to one vector ([CLS] token or masked mean of the
    token features). At each visual level a 1x1 lateral conv is modulated by
    a per-level FiLM of that vector, ``act(x * (1 + gamma) + beta)``; the
    levels are merged top-down (bilinear upsampling and sum) to the finest
    level, then a 3x3 conv and a 1x1 classifier give the logits. It is cheap
    enough for CPU tests and small configs.

    Args:
        in_channels (Sequence[int]): Channels of the visual levels, finest
            (stride 4) first.
        text_channels (int): Channels of the text features.
        channels (int): Channels of the fused features. Defaults to 64.
        text_pool (str): 'cls' (first token) or 'mean' (mean over the
            attended tokens). Defaults to 'cls'.
        norm_cfg (dict): Norm of the convs. Defaults to GroupNorm with 8
            groups (batch-independent, so MaskRIS 'concat' and 'sequential'
            give equal gradients).
        act_cfg (dict): Activation. Defaults to ReLU.
        **kwargs: ``BaseRISHead`` arguments (``num_classes``,
            ``loss_decode``, ``align_corners``, ``ignore_index``,
            ``init_cfg``).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 text_channels: int,
                 channels: int = 64,
                 text_pool: str = 'cls',
                 norm_cfg: ConfigType = dict(type='GN', num_groups=8),
                 act_cfg: ConfigType = dict(type='ReLU'),
                 **kwargs):
        super().__init__(**kwargs)
        if text_pool not in ('cls', 'mean'):
            raise ValueError("SimpleFusionHead: text_pool must be 'cls' or "
                             f"'mean', got {text_pool!r}.")
        self.in_channels = list(in_channels)
        self.text_channels = text_channels
        self.channels = channels
        self.text_pool = text_pool
        self.lateral_convs = nn.ModuleList([
            ConvModule(c, channels, 1, norm_cfg=norm_cfg, act_cfg=None)
            for c in self.in_channels
        ])
        self.films = nn.ModuleList([
            nn.Linear(text_channels, 2 * channels) for _ in self.in_channels
        ])
        self.act = build_activation_layer(act_cfg)
        self.fuse_conv = ConvModule(
            channels,
            channels,
            3,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.conv_seg = nn.Conv2d(channels, self.num_classes, 1)

    def pool_text(self, text_feats: Tensor, text_mask: Tensor) -> Tensor:
        """Sentence vector ``[B, C]`` of token features ``[B, L, C]``."""
        if self.text_pool == 'cls':
            return text_feats[:, 0]
        weight = text_mask.to(text_feats.dtype).unsqueeze(-1)
        return (text_feats * weight).sum(1) / weight.sum(1).clamp(min=1)

    def forward(self, inputs: RISFeatures) -> Tensor:
        visual_feats, text_feats, text_mask = inputs
        if len(visual_feats) != len(self.in_channels):
            raise ValueError(
                f'SimpleFusionHead expects {len(self.in_channels)} visual '
                f'levels (in_channels={self.in_channels}), got '
                f'{len(visual_feats)}.')
        sentence = self.pool_text(text_feats, text_mask)
        levels = []
        for feat, lateral, film in zip(visual_feats, self.lateral_convs,
                                       self.films):
            gamma, beta = film(sentence)[:, :, None, None].chunk(2, dim=1)
            levels.append(self.act(lateral(feat) * (1 + gamma) + beta))
        fused = levels[-1]
        for level in reversed(levels[:-1]):
            fused = level + resize(
                fused,
                size=level.shape[-2:],
                mode='bilinear',
                align_corners=self.align_corners,
                warning=False)
        return self.conv_seg(self.fuse_conv(fused))
