# CARIS (ACM MM'23) with Swin-B and BERT-base, the model MaskRIS trains
# (facts sheet section 2): 226,572,664 parameters, logits [B, 2, 112, 112]
# for 448x448 inputs (tools/analysis/count_params.py prints the split).
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
        pretrain_img_size=224,
        embed_dims=128,
        patch_size=4,
        window_size=7,
        mlp_ratio=4,
        depths=[2, 2, 18, 2],
        num_heads=[4, 8, 16, 32],
        strides=(4, 2, 2, 2),
        out_indices=(0, 1, 2, 3),
        qkv_bias=True,
        qk_scale=None,
        patch_norm=True,
        drop_rate=0.,
        attn_drop_rate=0.,
        drop_path_rate=0.3,
        use_abs_pos_embed=False,
        act_cfg=dict(type='GELU'),
        norm_cfg=dict(type='LN'),
        # the official Microsoft file, converted at load time. Its final
        # `norm` is not loaded into norm3, as in the reference (norm0-3 start
        # from their initialisation); map_final_norm=True loads it.
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/swin_base_patch4_window7_224_22k.pth',
            map_final_norm=False)),
    # 5 image-conditioned tokens appended after BERT's embedding layer
    prompt_generator=dict(
        type='ConditionalPrompts',
        in_channels=1024,
        embed_dims=768,
        pool_sizes=(1, 2)),
    text_encoder=dict(type='HFTextEncoder', pretrained='bert-base-uncased'),
    decode_head=dict(
        type='CARISHead',
        in_channels=[128, 256, 512, 1024],
        text_channels=768,
        feat_channels=256,
        out_channels=256,
        num_prompts=5,
        pixel_decoder=dict(
            type='VLMSDeformAttnPixelDecoder',
            num_encoder_levels=3,
            num_layers=6,
            layer_cfg=dict(
                num_heads=8,
                num_points=4,
                attn_expand=4,
                ffn_expand=4,
                dropout=0.0),
            positional_encoding=dict(num_feats=128, normalize=True),
            norm_cfg=dict(type='GN', num_groups=32)),
        num_mask_convs=3,
        num_embed_fcs=3,
        loss_decode=dict(type='RISCrossEntropyLoss', class_weight=[0.9, 1.1]),
        align_corners=True),
    test_cfg=dict(mode='whole'))
