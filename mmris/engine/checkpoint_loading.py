"""Loading of trusted local checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine
0.10.7's local loader relies on the old default, and its own checkpoints hold
more than tensors (``message_hub`` history buffers, numpy scalars, config
text), so ``Runner(resume=True)`` and ``load_from`` fail on them. Here the
local scheme of mmengine's ``CheckpointLoader`` is re-registered with a
loader that unpickles fully: a local path is one the user put in their own
config or command line, i.e. trusted. Remote schemes (``http(s)://``,
``s3://``, ...) keep mmengine's loaders and torch's safe default.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader


def load_from_local_trusted(filename: str, map_location=None) -> dict:
    """Load a local checkpoint with full unpickling (trusted files only).

    Args:
        filename (str): Local path (``~`` is expanded).
        map_location (str | torch.device | callable, optional): As in
            :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'Checkpoint {filename!r} can not be found (expected an existing '
            'local file).')
    return torch.load(filename, map_location=map_location, weights_only=False)


def register_trusted_local_loader() -> None:
    """Make :func:`load_from_local_trusted` mmengine's loader for local paths
    (the empty scheme prefix). Idempotent; done when ``mmris`` is imported."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_trusted, force=True)


register_trusted_local_loader()
