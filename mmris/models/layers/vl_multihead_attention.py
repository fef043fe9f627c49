from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

#: Ways of computing the same attention (see VLMultiheadAttention).
PATHS = ('standard', 'fold_keys', 'fold_queries')


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

    With ``fold_projections`` the same function is computed with fewer
    operations when one side has few tokens (CARIS: 25 language tokens
    against thousands of visual tokens, inner width 4x the token width):

    - ``'fold_keys'`` (few queries): per head, the query is mapped back
      through ``k_proj`` (``q_h W_k,h``) and the attention context is
      taken over the raw values before ``v_proj``, so the many keys and
      values are never projected to ``embed_dims``;
    - ``'fold_queries'`` (few keys): per head, the keys are mapped back
      through ``q_proj`` and the values forward through ``out_proj``, so
      the many queries are never projected.

    Each call takes the path with the fewest multiply-adds; the results
    equal the standard path up to floating-point rounding, and every
    parameter takes part (as needed by DDP).

    Args:
        query_dims (int): Width of the queries and of the output.
        key_dims (int): Width of the keys and values.
        embed_dims (int): Inner width of the attention.
        num_heads (int): Number of heads; must divide ``embed_dims``.
        dropout (float): Dropout on the attention probabilities.
            Defaults to 0.
        fold_projections (bool): Allow the folded paths. Defaults to True.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to truncated normal (std 0.02) weights, zero biases.
    """

    def __init__(self,
                 query_dims: int,
                 key_dims: int,
                 embed_dims: int,
                 num_heads: int,
                 dropout: float = 0.0,
                 fold_projections: bool = True,
                 init_cfg=dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.)):
        super().__init__(init_cfg)
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible '
                             f'by num_heads ({num_heads})')
        self.num_heads = num_heads
        self.dropout = dropout
        self.fold_projections = fold_projections
        self.q_proj = nn.Linear(query_dims, embed_dims)
        self.k_proj = nn.Linear(key_dims, embed_dims)
        self.v_proj = nn.Linear(key_dims, embed_dims)
        self.out_proj = nn.Linear(embed_dims, query_dims)

    def _split_heads(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        return x.view(b, n, self.num_heads, c // self.num_heads).transpose(
            1, 2)

    def path_costs(self, num_queries: int, num_keys: int) -> dict:
        """Multiply-adds per sample of each path."""
        nq, nk, heads = num_queries, num_keys, self.num_heads
        cq, ck = self.q_proj.in_features, self.k_proj.in_features
        e = self.q_proj.out_features
        return dict(
            standard=2 * nq * cq * e + 2 * nk * ck * e + 2 * nq * nk * e,
            fold_keys=2 * nq * cq * e + 2 * nq * e * ck +
            2 * heads * nq * nk * ck,
            fold_queries=2 * nk * ck * e + 2 * nk * e * cq +
            2 * heads * nq * nk * cq)

    def choose_path(self, num_queries: int, num_keys: int) -> str:
        """The path a call with these token counts takes."""
        if not self.fold_projections:
            return 'standard'
        costs = self.path_costs(num_queries, num_keys)
        return min(PATHS, key=costs.__getitem__)

    def forward(self,
                query: Tensor,
                key: Tensor,
                value: Tensor,
                key_mask: Optional[Tensor] = None,
                path: Optional[str] = None) -> Tensor:
        """Attend ``query`` [B, Nq, Cq] to ``key``/``value`` [B, Nk, Ck].

        Args:
            key_mask (Tensor, optional): [B, Nk], non-zero where a key may be
                attended to (a text attention mask); None attends to all.
            path (str, optional): Force 'standard', 'fold_keys' or
                'fold_queries'; None picks the cheapest allowed one.

        Returns:
            Tensor: [B, Nq, query_dims].
        """
        if path is None:
            path = self.choose_path(query.shape[1], key.shape[1])
        elif path not in PATHS:
            raise ValueError(f'VLMultiheadAttention: path must be one of '
                             f'{PATHS}, got {path!r}')
        if path == 'fold_keys':
            return self._fold_keys(query, key, value, key_mask)
        if path == 'fold_queries':
            return self._fold_queries(query, key, value, key_mask)
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

    def _probs(self, logits: Tensor, key_mask: Optional[Tensor]) -> Tensor:
        """Softmax over the last dim (keys) of [B, ..., Nk] logits, masked,
        with dropout."""
        if key_mask is not None:
            shape = (key_mask.shape[0], ) + (1, ) * (logits.dim() - 2) + (
                key_mask.shape[1], )
            logits = logits.masked_fill(~key_mask.bool().view(shape),
                                        float('-inf'))
        probs = logits.softmax(-1)
        return F.dropout(probs, self.dropout, self.training)

    def _fold_keys(self, query: Tensor, key: Tensor, value: Tensor,
                   key_mask: Optional[Tensor]) -> Tensor:
        """q.(W_k x + b_k) = (W_k^T q).x + q.b_k; sum_j a_j (W_v x_j + b_v)
        = W_v (sum_j a_j x_j) + b_v sum_j a_j."""
        b, nq, _ = query.shape
        heads, ck = self.num_heads, key.shape[-1]
        head_dims = self.q_proj.out_features // heads
        q = self.q_proj(query).view(b, nq, heads, head_dims).transpose(1, 2)
        # [B, H, Nq, Ck]: queries in the key space
        q_key = q @ self.k_proj.weight.view(heads, head_dims, ck)
        logits = q_key.reshape(b, heads * nq, ck) @ key.transpose(1, 2)
        # q.b_k is constant over the keys (cancels in the softmax) but
        # keeps b_k in the graph, as in the standard path
        q_bias = q @ self.k_proj.bias.view(heads, head_dims, 1)
        logits = (logits.view(b, heads, nq, -1) + q_bias) * head_dims**-0.5
        probs = self._probs(logits, key_mask)  # [B, H, Nq, Nk]
        context = probs.view(b, heads * nq, -1) @ value
        w_v = self.v_proj.weight.view(heads, head_dims, ck)
        out = context.view(b, heads, nq, ck) @ w_v.transpose(1, 2)
        out = out + probs.sum(-1, keepdim=True) * self.v_proj.bias.view(
            heads, 1, head_dims)
        return self.out_proj(out.transpose(1, 2).reshape(b, nq, -1))

    def _fold_queries(self, query: Tensor, key: Tensor, value: Tensor,
                      key_mask: Optional[Tensor]) -> Tensor:
        """(W_q y + b_q).k = y.(W_q^T k) + b_q.k; W_o sum_j a_j v_j =
        sum_j a_j (W_o v_j)."""
        b, nq, cq = query.shape
        nk, heads = key.shape[1], self.num_heads
        head_dims = self.q_proj.out_features // heads
        k = self.k_proj(key).view(b, nk, heads, head_dims).transpose(1, 2)
        v = self.v_proj(value).view(b, nk, heads, head_dims).transpose(1, 2)
        # [B, H, Nk, Cq]: keys in the query space, values in the output's
        k_query = k @ self.q_proj.weight.view(heads, head_dims, cq)
        k_bias = k @ self.q_proj.bias.view(heads, head_dims, 1)
        v_out = v @ self.out_proj.weight.view(cq, heads,
                                              head_dims).permute(1, 2, 0)
        logits = query @ k_query.reshape(b, heads * nk, cq).transpose(1, 2)
        logits = (logits + k_bias.view(b, 1, heads * nk)) * head_dims**-0.5
        probs = self._probs(logits.view(b, nq, heads, nk), key_mask)
        out = probs.view(b, nq, heads * nk) @ v_out.reshape(
            b, heads * nk, cq)
        return out + self.out_proj.bias

    def extra_repr(self) -> str:
        return (f'num_heads={self.num_heads}, dropout={self.dropout}, '
                f'fold_projections={self.fold_projections}')
