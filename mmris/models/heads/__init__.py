from .base_ris_head import BaseRISHead
from .caris_head import CARISHead
from .simple_ris_head import SimpleFusionHead

__all__ = ['BaseRISHead', 'CARISHead', 'SimpleFusionHead']
