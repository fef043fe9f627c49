from typing import Optional, Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule, constant_init, trunc_normal_init
from torch import Tensor, nn

from .ms_deform_attn import MSDeformAttn
from .vl_multihead_attention import VLMultiheadAttention


class VLDeformEncoderLayer(BaseModule):
    """One layer of the CARIS vision-language deformable encoder (post-norm).

    Order, each step followed by its own LayerNorm:

    1. language queries attend to the visual tokens (keys = visual +
       position), output scaled by a learnable per-channel ``gamma_v2l``,
       residual;
    2. language self-attention (masked), residual;
    3. language FFN, residual;
    4. visual queries (+ position) attend to the language tokens (masked),
       scaled by ``gamma_l2v``, residual;
    5. multi-scale deformable self-attention over the visual tokens
       (:class:`MSDeformAttn`: mmcv's ``MultiScaleDeformableAttention``
       with a faster CPU path; residual inside), run in fp32 even under
       autocast;
    6. visual FFN, residual.

    The language tokens here are the projected words followed by the
    decoder prompts; the layer does not distinguish them.

    Parameters for 256 channels, 8 heads, 3 levels, 4 points, expansions
    4/4: three attentions 3 x 1,051,904 + deformable attention 205,600
    (offsets 49,344, weights 24,672, value/output projections 2 x 65,792)
    + two FFNs 2 x 525,568 + two gammas 512 + six LayerNorms 3,072
    = 4,416,032.

    Args:
        embed_dims (int): Width of visual and language tokens.
            Defaults to 256.
        num_heads (int): Heads of every attention. Defaults to 8.
        num_levels (int): Feature levels of the deformable attention.
            Defaults to 3.
        num_points (int): Sampling points per head and level. Defaults to 4.
        attn_expand (int): Inner width of the cross/self attentions as a
            multiple of ``embed_dims``. Defaults to 4.
        ffn_expand (int): Hidden width of both FFNs as a multiple of
            ``embed_dims``. Defaults to 4.
        dropout (float): Dropout of attentions, FFNs and residual branches.
            Defaults to 0.
        gamma_init (float): Initial value of both gammas. Defaults to 1.
        im2col_step (int): ``im2col_step`` of the CUDA deformable attention
            kernel. Defaults to 64.
        deform_fp32 (bool): Run the deformable attention in fp32 under
            autocast. Defaults to True.
        fold_attn_projections (bool): Let the three attentions fold their
            projections into the side with few tokens when that is cheaper
            (same function; see :class:`VLMultiheadAttention`).
            Defaults to True.
        act_cfg (dict): Activation of the FFNs. Defaults to ReLU.
        norm_cfg (dict): Normalisation after every step. Defaults to LN.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_levels: int = 3,
                 num_points: int = 4,
                 attn_expand: int = 4,
                 ffn_expand: int = 4,
                 dropout: float = 0.0,
                 gamma_init: float = 1.0,
                 im2col_step: int = 64,
                 deform_fp32: bool = True,
                 fold_attn_projections: bool = True,
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 norm_cfg: dict = dict(type='LN'),
                 init_cfg=None):
        super().__init__(init_cfg)
        inner_dims = embed_dims * attn_expand
        self.deform_fp32 = deform_fp32
        attn_args = (embed_dims, embed_dims, inner_dims, num_heads, dropout,
                     fold_attn_projections)
        self.v2l_attn = VLMultiheadAttention(*attn_args)
        self.lang_self_attn = VLMultiheadAttention(*attn_args)
        self.l2v_attn = VLMultiheadAttention(*attn_args)
        self.vis_deform_attn = MSDeformAttn(
            embed_dims=embed_dims,
            num_heads=num_heads,
            num_levels=num_levels,
            num_points=num_points,
            im2col_step=im2col_step,
            dropout=dropout,
            batch_first=True)
        ffn_cfg = dict(
            embed_dims=embed_dims,
            feedforward_channels=embed_dims * ffn_expand,
            num_fcs=2,
            act_cfg=act_cfg,
            ffn_drop=dropout,
            dropout_layer=dict(type='Dropout', drop_prob=dropout),
            add_identity=True)
        self.lang_ffn = FFN(**ffn_cfg)
        self.vis_ffn = FFN(**ffn_cfg)
        self.gamma_v2l = nn.Parameter(torch.full((embed_dims, ), gamma_init))
        self.gamma_l2v = nn.Parameter(torch.full((embed_dims, ), gamma_init))
        self.drop = nn.Dropout(dropout)
        # l: after v2l, self-attn, FFN; v: after l2v, deform-attn, FFN
        self.lang_norms = nn.ModuleList(
            build_norm_layer(norm_cfg, embed_dims)[1] for _ in range(3))
        self.vis_norms = nn.ModuleList(
            build_norm_layer(norm_cfg, embed_dims)[1] for _ in range(3))

    def init_weights(self) -> None:
        """Truncated-normal (std 0.02) linears, unit LayerNorms; the
        deformable attention keeps its own (Deformable-DETR) init."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=0.02, bias=0.)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, val=1., bias=0.)
        self.vis_deform_attn.init_weights()
        self._is_init = True

    def forward(self,
                vis: Tensor,
                lang: Tensor,
                vis_pos: Tensor,
                lang_mask: Tensor,
                spatial_shapes: Tensor,
                level_start_index: Tensor,
                reference_points: Tensor,
                vis_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Update visual tokens ``vis`` [B, N, C] and language tokens ``lang``
        [B, L, C].

        Args:
            vis_pos (Tensor): [B, N, C] position + level embedding.
            lang_mask (Tensor): [B, L], non-zero on valid language tokens.
            spatial_shapes (Tensor): [num_levels, 2] (h, w), long.
            level_start_index (Tensor): [num_levels] start of each level.
            reference_points (Tensor): [B, N, num_levels, 2] in [0, 1].
            vis_mask (Tensor, optional): [B, N], non-zero on valid (not
                padded) visual tokens; None when nothing is padded.

        Returns:
            tuple[Tensor, Tensor]: updated ``vis`` and ``lang``.
        """
        lang = self.lang_norms[0](lang + self.drop(
            self.gamma_v2l *
            self.v2l_attn(lang, vis + vis_pos, vis, key_mask=vis_mask)))
        lang = self.lang_norms[1](lang + self.drop(
            self.lang_self_attn(lang, lang, lang, key_mask=lang_mask)))
        lang = self.lang_norms[2](self.lang_ffn(lang))

        vis = self.vis_norms[0](vis + self.drop(
            self.gamma_l2v *
            self.l2v_attn(vis + vis_pos, lang, lang, key_mask=lang_mask)))
        vis = self.vis_norms[1](
            self._deform_attn(vis, vis_pos, spatial_shapes, level_start_index,
                              reference_points, vis_mask))
        vis = self.vis_norms[2](self.vis_ffn(vis))
        return vis, lang

    def _deform_attn(self, vis: Tensor, vis_pos: Tensor,
                     spatial_shapes: Tensor, level_start_index: Tensor,
                     reference_points: Tensor,
                     vis_mask: Optional[Tensor]) -> Tensor:
        padding_mask = None if vis_mask is None else ~vis_mask.bool()
        if not self.deform_fp32:
            return self.vis_deform_attn(
                vis,
                value=vis,
                query_pos=vis_pos,
                key_padding_mask=padding_mask,
                reference_points=reference_points,
                spatial_shapes=spatial_shapes,
                level_start_index=level_start_index)
        with torch.autocast(device_type=vis.device.type, enabled=False):
            vis32 = vis.float()
            return self.vis_deform_attn(
                vis32,
                value=vis32,
                query_pos=vis_pos.float(),
                key_padding_mask=padding_mask,
                reference_points=reference_points.float(),
                spatial_shapes=spatial_shapes,
                level_start_index=level_start_index)
