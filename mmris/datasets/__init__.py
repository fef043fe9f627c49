from .refcoco import RefCocoDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['RefCocoDataset']
