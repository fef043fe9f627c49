from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmdet.models.layers import SinePositionalEncoding
from mmengine.model import (BaseModule, caffe2_xavier_init, trunc_normal_init,
                            xavier_init)
from torch import Tensor, nn

from mmris.registry import MODELS
from .vl_deform_encoder_layer import VLDeformEncoderLayer


@MODELS.register_module()
class VLMSDeformAttnPixelDecoder(BaseModule):
    """Vision-language multi-scale deformable-attention pixel decoder of
    CARIS (`CARIS: Context-Aware Referring Image Segmentation
    <https://dl.acm.org/doi/10.1145/3581783.3612117>`_).

    The ``num_encoder_levels`` coarsest visual features are projected to
    ``feat_channels`` (1x1 conv with bias + norm), given a sine position
    encoding plus a learnable level embedding and flattened into one token
    sequence (coarse to fine). The text features are projected (linear +
    LayerNorm) and followed by ``num_prompts`` learnable prompt tokens.
    ``num_layers`` :class:`VLDeformEncoderLayer` update both sequences. The
    remaining finer levels are fused top-down FPN-style: 1x1 lateral conv
    (no bias) + norm, plus the upsampled coarser output, then a 3x3 conv (no
    bias) + norm + activation.

    Parameters with the CARIS Swin-B settings (in 128/256/512/1024, text
    768, 256 channels, 5 prompts, 6 layers): input convs 461,056 (262,912 +
    131,840 + 66,304), level embedding 768, text projection 197,376,
    prompts 1,280, layers 6 x 4,416,032, FPN 33,280 + 590,336; 27,780,288.

    Args:
        in_channels (Sequence[int]): Channels of the visual features, fine
            to coarse.
        text_channels (int): Width of the text features.
        feat_channels (int): Width of all decoder tokens and maps.
            Defaults to 256.
        num_prompts (int): Learnable prompt tokens appended to the language
            tokens. Defaults to 5.
        num_encoder_levels (int): Coarsest levels fed to the encoder.
            Defaults to 3.
        num_layers (int): Encoder layers. Defaults to 6.
        layer_cfg (dict): Keyword arguments of :class:`VLDeformEncoderLayer`
            (``embed_dims`` and ``num_levels`` are set here).
        positional_encoding (dict): Keyword arguments of mmdet's
            ``SinePositionalEncoding``; ``2 * num_feats`` must equal
            ``feat_channels``.
        norm_cfg (dict): Norm of the input, lateral and output convs.
            Defaults to GroupNorm with 32 groups.
        act_cfg (dict): Activation of the FPN output convs.
            Defaults to ReLU.
        upsample_cfg (dict): ``F.interpolate`` arguments of the FPN
            upsampling. Defaults to bilinear, ``align_corners=False``.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 text_channels: int,
                 feat_channels: int = 256,
                 num_prompts: int = 5,
                 num_encoder_levels: int = 3,
                 num_layers: int = 6,
                 layer_cfg: dict = dict(
                     num_heads=8, num_points=4, attn_expand=4, ffn_expand=4),
                 positional_encoding: dict = dict(
                     num_feats=128, normalize=True),
                 norm_cfg: dict = dict(type='GN', num_groups=32),
                 act_cfg: dict = dict(type='ReLU'),
                 upsample_cfg: dict = dict(
                     mode='bilinear', align_corners=False),
                 init_cfg=None):
        super().__init__(init_cfg)
        if not 1 <= num_encoder_levels <= len(in_channels):
            raise ValueError(f'num_encoder_levels must be in [1, '
                             f'{len(in_channels)}], got {num_encoder_levels}')
        if 2 * positional_encoding['num_feats'] != feat_channels:
            raise ValueError(
                'positional_encoding.num_feats must be feat_channels / 2 = '
                f'{feat_channels // 2}, got '
                f"{positional_encoding['num_feats']}")
        self.in_channels = list(in_channels)
        self.num_encoder_levels = num_encoder_levels
        self.num_prompts = num_prompts
        self.upsample_cfg = dict(upsample_cfg)

        # encoder inputs, coarse to fine
        self.input_convs = nn.ModuleList(
            ConvModule(
                c, feat_channels, 1, bias=True, norm_cfg=norm_cfg,
                act_cfg=None)
            for c in self.in_channels[::-1][:num_encoder_levels])
        self.positional_encoding = SinePositionalEncoding(
            **positional_encoding)
        self.level_embed = nn.Embedding(num_encoder_levels, feat_channels)
        self.text_proj = nn.Linear(text_channels, feat_channels)
        self.text_norm = build_norm_layer(dict(type='LN'), feat_channels)[1]
        self.prompts = nn.Embedding(num_prompts, feat_channels)
        self.layers = nn.ModuleList(
            VLDeformEncoderLayer(
                embed_dims=feat_channels,
                num_levels=num_encoder_levels,
                **layer_cfg) for _ in range(num_layers))

        # FPN over the finer levels, coarse to fine
        fpn_channels = self.in_channels[::-1][num_encoder_levels:]
        self.lateral_convs = nn.ModuleList(
            ConvModule(c, feat_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
            for c in fpn_channels)
        self.output_convs = nn.ModuleList(
            ConvModule(
                feat_channels,
                feat_channels,
                3,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for _ in fpn_channels)

    def init_weights(self) -> None:
        """Xavier input convs, truncated-normal text projection, caffe2
        Xavier FPN convs (as Mask2Former's pixel decoder)."""
        for conv in self.input_convs:
            xavier_init(conv.conv, gain=1, bias=0, distribution='uniform')
        trunc_normal_init(self.text_proj, std=0.02, bias=0.)
        for conv in [*self.lateral_convs, *self.output_convs]:
            caffe2_xavier_init(conv.conv, bias=0)
        for layer in self.layers:
            layer.init_weights()
        self._is_init = True

    @staticmethod
    def _reference_points(h: int, w: int, device) -> Tensor:
        """Normalised pixel centres ``[(x + 0.5) / w, (y + 0.5) / h]``,
        row-major, shape [h * w, 2]."""
        ys, xs = torch.meshgrid(
            (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h,
            (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w,
            indexing='ij')
        return torch.stack([xs.flatten(), ys.flatten()], -1)

    def forward(self, feats: List[Tensor], text: Tensor,
                text_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Run the VL encoder and the FPN.

        Args:
            feats (list[Tensor]): Visual features [B, C_i, H_i, W_i], fine to
                coarse, as many as ``in_channels``.
            text (Tensor): Text features [B, L, text_channels].
            text_mask (Tensor): [B, L], non-zero on valid tokens.

        Returns:
            tuple[Tensor, Tensor, Tensor]: the finest FPN map [B, C, H_0,
            W_0], the updated language tokens [B, L, C] and the updated
            prompts [B, num_prompts, C].
        """
        if len(feats) != len(self.in_channels):
            raise ValueError(f'expected {len(self.in_channels)} visual '
                             f'feature levels, got {len(feats)}')
        batch_size = feats[0].shape[0]
        tokens, pos_embeds, ref_points, shapes = [], [], [], []
        for i, feat in enumerate(feats[::-1][:self.num_encoder_levels]):
            h, w = feat.shape[-2:]
            no_pad = feat.new_zeros((batch_size, h, w), dtype=torch.bool)
            pos = self.positional_encoding(no_pad)
            pos = pos + self.level_embed.weight[i].view(1, -1, 1, 1)
            tokens.append(self.input_convs[i](feat).flatten(2).transpose(1, 2))
            pos_embeds.append(pos.flatten(2).transpose(1, 2))
            ref_points.append(self._reference_points(h, w, feat.device))
            shapes.append((h, w))
        vis = torch.cat(tokens, 1)
        vis_pos = torch.cat(pos_embeds, 1)
        spatial_shapes = torch.as_tensor(
            shapes, dtype=torch.long, device=vis.device)
        level_start_index = torch.cat((spatial_shapes.new_zeros(
            (1, )), spatial_shapes.prod(1).cumsum(0)[:-1]))
        reference_points = torch.cat(ref_points, 0)[None, :, None].expand(
            batch_size, -1, self.num_encoder_levels, -1)

        num_words = text.shape[1]
        lang = torch.cat([
            self.text_norm(self.text_proj(text)),
            self.prompts.weight[None].expand(batch_size, -1, -1)
        ], 1)
        lang_mask = torch.cat(
            [text_mask.bool(),
             text_mask.new_ones((batch_size, self.num_prompts)).bool()], 1)
        for layer in self.layers:
            vis, lang = layer(vis, lang, vis_pos, lang_mask, spatial_shapes,
                              level_start_index, reference_points)

        outs = [
            x.transpose(1, 2).reshape(batch_size, -1, h, w)
            for x, (h, w) in zip(vis.split([h * w for h, w in shapes], 1),
                                 shapes)
        ]
        fpn_feats = feats[::-1][self.num_encoder_levels:]
        for feat, lateral, output in zip(fpn_feats, self.lateral_convs,
                                         self.output_convs):
            y = lateral(feat)
            y = y + F.interpolate(
                outs[-1].to(y.dtype), size=y.shape[-2:], **self.upsample_cfg)
            outs.append(output(y))
        return outs[-1], lang[:, :num_words], lang[:, num_words:]
