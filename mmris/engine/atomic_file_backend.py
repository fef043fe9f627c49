"""Crash-safe local writes: a file appears under its final name complete or
not at all."""
import os
import os.path as osp
import uuid
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.utils import mkdir_or_exist


def atomic_write(data: bytes,
                 filepath: Union[str, Path],
                 fsync: bool = True) -> None:
    """Write ``data`` to ``filepath`` so that a crash never leaves a partial
    file under that name.

    The bytes go to a hidden temporary file in the same directory, which is
    flushed (and fsynced) and then renamed over ``filepath`` with
    ``os.replace`` (atomic on POSIX and Windows within one file system). A
    failed write removes the temporary file; a killed process may leave a
    ``.<name>.<pid>.<hex>.tmp`` file behind, never a partial ``<name>``.

    Args:
        data (bytes): The content.
        filepath (str | Path): The final path.
        fsync (bool): Force the data (and the directory entry) to disk
            before and after the rename, so that a power loss cannot expose
            an empty file either. Defaults to True.
    """
    filepath = str(filepath)
    dirname = osp.dirname(osp.abspath(filepath))
    mkdir_or_exist(dirname)
    tmp_path = osp.join(
        dirname,
        f'.{osp.basename(filepath)}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp')
    try:
        with open(tmp_path, 'xb') as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp_path, filepath)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise
    if fsync and hasattr(os, 'O_DIRECTORY'):  # persist the rename (POSIX)
        dir_fd = os.open(dirname, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """Local file backend whose ``put``/``put_text`` are atomic.

    Select it where mmengine takes ``backend_args``, e.g.
    ``CheckpointHook(backend_args=dict(backend='atomic_local'))``; reads,
    listing and removal are those of mmengine's ``LocalBackend``.

    Args:
        fsync (bool): See :func:`atomic_write`. Defaults to True.
    """

    def __init__(self, fsync: bool = True) -> None:
        super().__init__()
        self.fsync = fsync

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically."""
        atomic_write(obj, filepath, fsync=self.fsync)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        atomic_write(obj.encode(encoding), filepath, fsync=self.fsync)
