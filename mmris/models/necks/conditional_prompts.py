from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmris.registry import MODELS


@MODELS.register_module()
class ConditionalPrompts(BaseModule):
    """Image-conditioned prompt tokens for the text encoder (CARIS).

    One visual feature map (by default the last, stride 32) is average-pooled
    to each size in ``pool_sizes``; each size has its own MLP (``in_channels
    -> hidden_channels``, activation, ``-> embed_dims``). The pooled cells
    (row-major, sizes in order: 1 + 4 = 5 tokens by default) get a learnable
    embedding each and a shared LayerNorm. The text encoder appends them
    after its embedding layer.

    Parameters for 1024 -> 768 and sizes (1, 2): two MLPs 2 x (787,200 +
    590,592) + embedding 5 x 768 + LayerNorm 1,536 = 2,760,960.

    Args:
        in_channels (int): Channels of the pooled feature map.
            Defaults to 1024.
        embed_dims (int): Width of the text encoder. Defaults to 768.
        hidden_channels (int, optional): Hidden width of the MLPs; None
            means ``embed_dims``.
        pool_sizes (Sequence[int]): Output sizes of the adaptive average
            pooling. Defaults to (1, 2).
        in_index (int): Which visual feature to pool. Defaults to -1.
        act_cfg (dict): Activation of the MLPs. Defaults to ReLU.
        norm_cfg (dict): Final normalisation. Defaults to LN.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to truncated normal (std 0.02) linears.
    """

    def __init__(self,
                 in_channels: int = 1024,
                 embed_dims: int = 768,
                 hidden_channels: Optional[int] = None,
                 pool_sizes: Sequence[int] = (1, 2),
                 in_index: int = -1,
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 norm_cfg: dict = dict(type='LN'),
                 init_cfg=dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.)):
        super().__init__(init_cfg)
        hidden_channels = hidden_channels or embed_dims
        self.in_channels = in_channels
        self.pool_sizes = tuple(pool_sizes)
        self.in_index = in_index
        self.num_prompts = sum(s * s for s in self.pool_sizes)
        self.mlps = nn.ModuleList(
            nn.Sequential(
                nn.Linear(in_channels, hidden_channels),
                build_activation_layer(act_cfg),
                nn.Linear(hidden_channels, embed_dims))
            for _ in self.pool_sizes)
        self.prompt_embed = nn.Embedding(self.num_prompts, embed_dims)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def forward(self, visual_feats: List[Tensor]) -> Tensor:
        """Prompts [B, num_prompts, embed_dims] from ``visual_feats``."""
        feat = visual_feats[self.in_index]
        if feat.dim() != 4 or feat.shape[1] != self.in_channels:
            raise ValueError(
                f'ConditionalPrompts expects visual_feats[{self.in_index}] '
                f'of shape [B, {self.in_channels}, H, W], got '
                f'{tuple(feat.shape)}')
        tokens = [
            mlp(F.adaptive_avg_pool2d(feat, size).flatten(2).transpose(1, 2))
            for size, mlp in zip(self.pool_sizes, self.mlps)
        ]
        return self.norm(torch.cat(tokens, 1) + self.prompt_embed.weight)
