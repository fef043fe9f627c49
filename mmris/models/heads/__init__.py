from .base_ris_head import BaseRISHead
from .caris_head import CARISHead

__all__ = ['BaseRISHead', 'CARISHead']
