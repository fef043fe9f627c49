from .ms_deform_attn import MSDeformAttn, ms_deform_attn_grid_sample
from .vl_deform_encoder_layer import VLDeformEncoderLayer
from .vl_msdeform_pixel_decoder import VLMSDeformAttnPixelDecoder
from .vl_multihead_attention import VLMultiheadAttention

__all__ = [
    'MSDeformAttn', 'ms_deform_attn_grid_sample', 'VLMultiheadAttention',
    'VLDeformEncoderLayer', 'VLMSDeformAttnPixelDecoder'
]
