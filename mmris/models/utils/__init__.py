from .pretrained_loading import load_pretrained_backbone
from .swin_converter import convert_official_swin, is_official_swin

__all__ = [
    'load_pretrained_backbone', 'convert_official_swin', 'is_official_swin'
]
