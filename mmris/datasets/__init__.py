from .refcoco import RefCocoDataset
from .transforms import (CheckReferMask, LoadReferImage, LoadReferMask,
                         PackRISInputs, RandomPatchMask, RandomTextMask,
                         TokenizeText, load_tokenizer)

__all__ = [
    'RefCocoDataset', 'LoadReferImage', 'LoadReferMask', 'CheckReferMask',
    'TokenizeText', 'load_tokenizer', 'RandomTextMask', 'RandomPatchMask',
    'PackRISInputs'
]
