from .maskris import MaskRIS
from .maskris_ddp import MaskRISDistributedDataParallel
from .ris_segmentor import RISSegmentor

__all__ = ['MaskRIS', 'MaskRISDistributedDataParallel', 'RISSegmentor']
