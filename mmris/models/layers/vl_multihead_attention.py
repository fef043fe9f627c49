from typing import Optional

import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_init
from torch import Tensor, nn


class VLMultiheadAttention(BaseModule):
    """Multi-head attention between two token sets of different widths.

    Queries of width ``query_dims`` attend to keys/values of width
    ``key_dims`` through an inner width ``embed_dims`` (may exceed both);
    the output is projected back to ``query_dims``. Used by CARIS both for
    language-to-vision and vision-to-language attention and for the
    language self-attention.

    Parameters: ``q/k/v_proj`` (``query_dims|key_dims -> embed_dims``) and
    ``out_proj`` (``embed_dims -> query_dims``), all with bias, i.e.
    ``(query_dims + 2 * key_dims + 3) * embed_dims + embed_dims * query_dims
    + query_dims``; 1,051,904 for 256/256/1024.

    Args:
        query_dims (int): Width of the queries and of the output.
        key_dims (int): Width of the keys and values.
        embed_dims (int): Inner width of the attention.
        num_heads (int): Number of heads; must divide ``embed_dims``.
        dropout (float): Dropout on the attention probabilities.
            Defaults to 0.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to truncated normal (std 0.02) weights, zero biases.
    """

    def __init__(self,
                 query_dims: int,
                 key_dims: int,
                 embed_dims: int,
                 num_heads: int,
                 dropout: float = 0.0,
                 init_cfg=dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.)):
        super().__init__(init_cfg)
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible '
                             f'by num_heads ({num_heads})')
        self.num_heads = num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(query_dims, embed_dims)
        self.k_proj = nn.Linear(key_dims, embed_dims)
        self.v_proj = nn.Linear(key_dims, embed_dims)
        self.out_proj = nn.Linear(embed_dims, query_dims)

    def _split_heads(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        return x.view(b, n, self.num_heads, c // self.num_heads).transpose(
            1, 2)

    def forward(self,
                query: Tensor,
                key: Tensor,
                value: Tensor,
                key_mask: Optional[Tensor] = None) -> Tensor:
        """Attend ``query`` [B, Nq, Cq] to ``key``/``value`` [B, Nk, Ck].

        Args:
            key_mask (Tensor, optional): [B, Nk], non-zero where a key may be
                attended to (a text attention mask); None attends to all.

        Returns:
            Tensor: [B, Nq, query_dims].
        """
        q = self._split_heads(self.q_proj(query))
        k = self._split_heads(self.k_proj(key))
        v = self._split_heads(self.v_proj(value))
        attn_mask = None
        if key_mask is not None:
            attn_mask = key_mask.bool()[:, None, None, :]
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).flatten(2))

    def extra_repr(self) -> str:
        return f'num_heads={self.num_heads}, dropout={self.dropout}'
