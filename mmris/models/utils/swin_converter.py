"""Key conversion from the official Microsoft Swin checkpoints to mmseg's
``SwinTransformer`` (as mmseg's ``tools/model_converters/swin2mmseg.py``,
applied at load time)."""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

from torch import Tensor

#: Buffers of the official model that the mmseg model derives from its
#: config; they are never loaded.
DERIVED_SWIN_BUFFERS = ('relative_position_index', 'attn_mask')


def is_official_swin(state_dict: Mapping[str, Tensor]) -> bool:
    """Whether ``state_dict`` uses the official Swin layout (``layers.*``,
    ``patch_embed.proj.*``) rather than mmseg's (``stages.*``)."""
    return 'patch_embed.proj.weight' in state_dict and any(
        k.startswith('layers.') for k in state_dict)


def _unfold_order_reduction(weight: Tensor) -> Tensor:
    """PatchMerging reduction [out, 4C]: official input order is the 4
    neighbours (0,0), (1,0), (0,1), (1,1) (row, col) each with C channels;
    mmseg's ``nn.Unfold`` gives per channel the neighbours in raster order
    (0,0), (0,1), (1,0), (1,1)."""
    out_channels, in_channels = weight.shape
    weight = weight.reshape(out_channels, 4, in_channels // 4)
    return weight[:, [0, 2, 1, 3], :].transpose(1, 2).reshape(
        out_channels, in_channels)


def _unfold_order_norm(param: Tensor) -> Tensor:
    """PatchMerging LayerNorm [4C], reordered as the reduction input."""
    param = param.reshape(4, param.shape[0] // 4)
    return param[[0, 2, 1, 3], :].transpose(0, 1).reshape(-1)


def convert_official_swin(
        state_dict: Mapping[str, Tensor],
        map_final_norm: bool = True
) -> Tuple['OrderedDict[str, Tensor]', List[str]]:
    """Rename and reorder an official Swin state dict for mmseg.

    ``layers.i`` -> ``stages.i``, ``attn.*`` -> ``attn.w_msa.*``,
    ``mlp.fc1/fc2`` -> ``ffn.layers.0.0/1``, ``patch_embed.proj`` ->
    ``patch_embed.projection``; PatchMerging weights are reordered to mmseg's
    unfold order. ``head.*`` is kept (the loader reports it as unexpected).

    Args:
        state_dict (Mapping[str, Tensor]): Official keys.
        map_final_norm (bool): Load the official final ``norm`` (applied
            after the last stage) into mmseg's ``norm{last}``, the norm at
            the same place. Defaults to True.

    Returns:
        tuple: the converted state dict and the dropped keys
        (:data:`DERIVED_SWIN_BUFFERS`).
    """
    stage_ids = {
        int(m.group(1))
        for m in (re.match(r'layers\.(\d+)\.', k) for k in state_dict) if m
    }
    last_norm = f'norm{max(stage_ids)}.' if stage_ids else None
    converted: Dict[str, Tensor] = OrderedDict()
    dropped = []
    for key, value in state_dict.items():
        if key.rsplit('.', 1)[-1] in DERIVED_SWIN_BUFFERS:
            dropped.append(key)
            continue
        new_key = key
        if key.startswith('layers.'):
            new_key = new_key.replace('.attn.', '.attn.w_msa.', 1)
            new_key = new_key.replace('.mlp.fc1.', '.ffn.layers.0.0.', 1)
            new_key = new_key.replace('.mlp.fc2.', '.ffn.layers.1.', 1)
            if '.downsample.reduction.' in key:
                value = _unfold_order_reduction(value)
            elif '.downsample.norm.' in key:
                value = _unfold_order_norm(value)
            new_key = 'stages.' + new_key[len('layers.'):]
        elif key.startswith('patch_embed.proj.'):
            new_key = key.replace('patch_embed.proj.',
                                  'patch_embed.projection.', 1)
        elif key.startswith('norm.') and map_final_norm and last_norm:
            new_key = last_norm + key[len('norm.'):]
        converted[new_key] = value
    return converted, dropped
