from .formatting import PackRISInputs
from .loading import CheckReferMask, LoadReferImage, LoadReferMask
from .masking import RandomPatchMask, RandomTextMask
from .text import TokenizeText, load_tokenizer

__all__ = [
    'LoadReferImage', 'LoadReferMask', 'CheckReferMask', 'TokenizeText',
    'load_tokenizer', 'RandomTextMask', 'RandomPatchMask', 'PackRISInputs'
]
