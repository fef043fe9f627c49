from .vl_deform_encoder_layer import VLDeformEncoderLayer
from .vl_msdeform_pixel_decoder import VLMSDeformAttnPixelDecoder
from .vl_multihead_attention import VLMultiheadAttention

__all__ = [
    'VLMultiheadAttention', 'VLDeformEncoderLayer',
    'VLMSDeformAttnPixelDecoder'
]
