"""Strict checkpoint loading: a checkpoint that does not fit fails loudly.

mmengine's ``Runner`` loads ``load_from`` with ``strict=False`` and only
warns about missing or unexpected keys, so testing a checkpoint with the
wrong config silently evaluates a half-random model.
"""
import re
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn


class CheckpointMismatchError(RuntimeError):
    """The checkpoint's weights do not fit the model built from a config."""


def _listing(title: str, keys: Sequence[str]) -> List[str]:
    if not keys:
        return []
    return [f'{title} ({len(keys)}):'] + [f'    {k}' for k in keys]


def _shape_mismatches(model: nn.Module, state_dict: dict) -> List[str]:
    """Keys of equal name and different shape (torch raises on them)."""
    own = model.state_dict()
    return [
        f'{key}: checkpoint {tuple(value.shape)}, model '
        f'{tuple(own[key].shape)}' for key, value in state_dict.items()
        if key in own and hasattr(value, 'shape')
        and tuple(value.shape) != tuple(own[key].shape)
    ]


def load_checkpoint_strict(
    model: nn.Module,
    filename: str,
    map_location: str = 'cpu',
    revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), ),
    config_name: Optional[str] = None,
) -> dict:
    """Load ``filename`` into ``model``; every key must match.

    The weights go through the model's own ``load_state_dict`` (so its
    load hooks apply, e.g. ``MaskRIS`` accepts keys with or without its
    ``segmentor.`` prefix, and checkpoints of MaskRIS and of the plain
    segmentor load into each other).

    Args:
        model (nn.Module): The model (a DDP wrapper is unwrapped).
        filename (str): Checkpoint path or URL (mmengine's loaders).
        map_location (str): Where to load the tensors. Defaults to 'cpu'.
        revise_keys (Sequence[tuple[str, str]]): Regex (pattern, replacement)
            pairs applied to the checkpoint's keys first. Defaults to
            stripping DDP's ``module.`` prefix.
        config_name (str, optional): Named in the error message.

    Returns:
        dict: The loaded checkpoint (``state_dict``, ``meta``, ...).

    Raises:
        CheckpointMismatchError: Listing the keys the model expects but the
            checkpoint lacks, the keys the model does not have, and the
            keys whose shapes differ.
    """
    if is_model_wrapper(model):
        model = model.module
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(
            f'{filename} holds a {type(checkpoint).__name__}; expected a '
            'dict of weights or a dict with a "state_dict" entry.')
    state_dict = checkpoint.get('state_dict', checkpoint)
    metadata = getattr(state_dict, '_metadata', OrderedDict())
    for pattern, replacement in revise_keys:
        state_dict = OrderedDict(
            (re.sub(pattern, replacement, k), v)
            for k, v in state_dict.items())
    state_dict._metadata = metadata

    shapes = _shape_mismatches(model, state_dict)
    # named as in state_dict() (what checkpoints hold); the load below
    # decides, through the model's own load hooks
    own = set(model.state_dict())
    missing = sorted(own - set(state_dict))
    unexpected = sorted(set(state_dict) - own)
    errors: List[str] = []
    if not shapes:
        try:
            result = model.load_state_dict(state_dict, strict=False)
        except RuntimeError as err:  # e.g. shapes under renamed keys
            errors = [str(err)]
        else:
            if not (result.missing_keys or result.unexpected_keys):
                missing, unexpected = [], []
            elif not (missing or unexpected):
                missing = result.missing_keys
                unexpected = result.unexpected_keys
    if shapes or missing or unexpected or errors:
        lines = [
            f'The checkpoint {filename} does not fit the model '
            f'{type(model).__name__}'
            + (f' of {config_name}' if config_name else '') +
            ' (is it a checkpoint of another config?):'
        ]
        lines += _listing('keys the model needs but the checkpoint lacks',
                          missing)
        lines += _listing('keys of the checkpoint the model does not have',
                          unexpected)
        lines += _listing('keys whose shapes differ', shapes)
        raise CheckpointMismatchError('\n'.join(lines + errors))
    return checkpoint
