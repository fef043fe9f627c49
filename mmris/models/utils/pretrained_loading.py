import logging
import os.path as osp
from collections import OrderedDict
from typing import Mapping, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from torch import Tensor, nn

from .swin_converter import (DERIVED_SWIN_BUFFERS, convert_official_swin,
                             is_official_swin)


def _read_checkpoint(checkpoint: str, map_location: str,
                     weights_only: bool) -> dict:
    if '://' in checkpoint:  # http(s)://, open-mmlab://, ...
        return CheckpointLoader.load_checkpoint(checkpoint, map_location)
    path = osp.expanduser(checkpoint)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'pretrained backbone checkpoint {checkpoint!r} does not exist '
            '(set the backbone init_cfg checkpoint to an existing file)')
    try:
        return torch.load(
            path, map_location=map_location, weights_only=weights_only)
    except Exception as e:
        raise RuntimeError(
            f'could not read {checkpoint!r} with torch.load(weights_only='
            f'{weights_only}): {e}. If the file is trusted and holds more '
            'than tensors, pass weights_only=False.') from e


def _unwrap(ckpt, source: str) -> 'OrderedDict[str, Tensor]':
    """The tensors of ``ckpt``: inside ``state_dict`` / ``model`` if present,
    without ``module.`` and, for whole-model checkpoints, ``backbone.``."""
    if not isinstance(ckpt, Mapping):
        raise ValueError(f'{source}: expected a dict of tensors (optionally '
                         f'under "state_dict" or "model"), got '
                         f'{type(ckpt).__name__}')
    for wrapper in ('state_dict', 'model'):
        if isinstance(ckpt.get(wrapper), Mapping):
            ckpt = ckpt[wrapper]
            break
    state_dict = OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in ckpt.items())
    if any(k.startswith('backbone.') for k in state_dict):
        state_dict = OrderedDict((k[len('backbone.'):], v)
                                 for k, v in state_dict.items()
                                 if k.startswith('backbone.'))
    bad = [k for k, v in state_dict.items() if not isinstance(v, Tensor)]
    if bad or not state_dict:
        raise ValueError(f'{source}: expected a non-empty dict of tensors, '
                         f'found non-tensor entries {bad[:5]}')
    return state_dict


def _resize_rel_pos_table(table: Tensor, size: int) -> Tensor:
    """Bicubic resize of a relative position bias table [(2w-1)^2, heads]
    to ``size`` rows (as mmseg's Swin does for other window sizes)."""
    rows, heads = table.shape
    src, dst = int(rows**0.5), int(size**0.5)
    table = table.float().permute(1, 0).reshape(1, heads, src, src)
    table = F.interpolate(table, size=(dst, dst), mode='bicubic')
    return table.reshape(heads, size).permute(1, 0).contiguous()


def load_pretrained_backbone(backbone: nn.Module,
                             checkpoint: Union[str, Mapping],
                             logger: Optional[Union[logging.Logger,
                                                    str]] = 'current',
                             map_location: str = 'cpu',
                             weights_only: bool = True,
                             map_final_norm: bool = True) -> dict:
    """Load pretrained weights into a backbone and report what did not
    match.

    Accepts mmseg-format state dicts, whole-model checkpoints (``backbone.``
    keys; the rest is ignored), ``state_dict``/``model`` wrappers, a
    ``module.`` prefix, and the official Microsoft Swin checkpoints
    (converted by :func:`convert_official_swin`). Relative position bias
    tables of another window size are resized bicubically. Missing and
    unexpected keys are logged (warning level) instead of being skipped
    silently; other shape mismatches raise.

    Args:
        backbone (nn.Module): The model to load into, e.g. mmseg's
            ``SwinTransformer``.
        checkpoint (str | Mapping): Path/URL of the checkpoint, or the
            loaded checkpoint itself.
        logger (logging.Logger | str, optional): Where to log, as in
            ``mmengine.logging.print_log``. Defaults to 'current'.
        map_location (str): ``torch.load`` map location. Defaults to 'cpu'.
        weights_only (bool): ``torch.load(weights_only=...)`` for local
            files. Defaults to True.
        map_final_norm (bool): See :func:`convert_official_swin`.

    Returns:
        dict: ``missing_keys``, ``unexpected_keys``, ``loaded_keys`` (lists)
        and ``format`` ('official-swin' or 'mmseg').
    """
    source = checkpoint if isinstance(checkpoint, str) else '<state dict>'
    if isinstance(checkpoint, str):
        checkpoint = _read_checkpoint(checkpoint, map_location, weights_only)
    state_dict = _unwrap(checkpoint, source)

    fmt, dropped = 'mmseg', []
    if is_official_swin(state_dict):
        fmt = 'official-swin'
        state_dict, dropped = convert_official_swin(state_dict,
                                                    map_final_norm)

    own = backbone.state_dict()
    for key, value in list(state_dict.items()):
        if key not in own or own[key].shape == value.shape:
            continue
        if key.endswith('relative_position_bias_table') and \
                value.shape[1] == own[key].shape[1]:
            state_dict[key] = _resize_rel_pos_table(value, own[key].shape[0])
            print_log(
                f'{source}: resized {key} from {tuple(value.shape)} to '
                f'{tuple(own[key].shape)}', logger=logger)
        elif key.endswith(DERIVED_SWIN_BUFFERS):
            del state_dict[key]  # recomputed from the model config
            dropped.append(key)
        else:
            raise ValueError(
                f'{source}: {key} has shape {tuple(value.shape)} but '
                f'{type(backbone).__name__} expects {tuple(own[key].shape)}'
                ' (is the checkpoint for another model size?)')

    result = backbone.load_state_dict(state_dict, strict=False)
    missing = [
        k for k in result.missing_keys if not k.endswith(DERIVED_SWIN_BUFFERS)
    ]
    unexpected = list(result.unexpected_keys)
    loaded = [k for k in state_dict if k in own]
    name = type(backbone).__name__
    print_log(
        f'{source} ({fmt} format): loaded {len(loaded)} of {len(own)} '
        f'tensors into {name}'
        + (f'; skipped {len(dropped)} derived buffers' if dropped else ''),
        logger=logger)
    if missing:
        print_log(
            f'{source}: missing keys in {name} (left at their init, '
            f'{len(missing)}): {", ".join(missing)}',
            logger=logger,
            level=logging.WARNING)
    if unexpected:
        print_log(
            f'{source}: unexpected keys not in {name} (ignored, '
            f'{len(unexpected)}): {", ".join(unexpected)}',
            logger=logger,
            level=logging.WARNING)
    return dict(
        missing_keys=missing,
        unexpected_keys=unexpected,
        loaded_keys=loaded,
        format=fmt)
