import torch

from mmris.models.layers import VLDeformEncoderLayer

SHAPES = [(2, 2), (4, 4)]


def make_inputs(bs=2, dims=32, num_lang=6):
    torch.manual_seed(0)
    num_vis = sum(h * w for h, w in SHAPES)
    spatial_shapes = torch.tensor(SHAPES)
    ref = torch.cat([
        torch.stack(
            torch.meshgrid((torch.arange(h) + 0.5) / h,
                           (torch.arange(w) + 0.5) / w,
                           indexing='ij')[::-1], -1).reshape(-1, 2)
        for h, w in SHAPES
    ])
    lang_mask = torch.ones(bs, num_lang, dtype=torch.long)
    lang_mask[0, 3:5] = 0  # two padded words in sample 0
    return dict(
        vis=torch.randn(bs, num_vis, dims),
        lang=torch.randn(bs, num_lang, dims),
        vis_pos=torch.randn(bs, num_vis, dims),
        lang_mask=lang_mask,
        spatial_shapes=spatial_shapes,
        level_start_index=torch.tensor([0, 4]),
        reference_points=ref[None, :, None].expand(bs, -1, 2, -1))


def small_layer(**kwargs):
    layer = VLDeformEncoderLayer(
        embed_dims=32, num_heads=4, num_levels=2, num_points=2, **kwargs)
    layer.init_weights()
    return layer


def test_output_shapes():
    inputs = make_inputs()
    vis, lang = small_layer()(**inputs)
    assert vis.shape == inputs['vis'].shape
    assert lang.shape == inputs['lang'].shape
    assert torch.isfinite(vis).all() and torch.isfinite(lang).all()


def test_padded_words_do_not_change_valid_outputs():
    layer = small_layer().eval()
    inputs = make_inputs()
    vis, lang = layer(**inputs)
    lang2 = inputs['lang'].clone()
    lang2[0, 3:5] = torch.randn(2, 32) * 5
    vis2, lang_out2 = layer(**{**inputs, 'lang': lang2})
    torch.testing.assert_close(vis, vis2)
    keep = inputs['lang_mask'].bool()
    torch.testing.assert_close(lang[keep], lang_out2[keep])


def test_gammas_gate_the_cross_attentions():
    layer = small_layer(gamma_init=0.0)
    layer.lang_norms[0].register_forward_hook(
        lambda m, args, out: captured.append(args[0]))
    captured = []
    inputs = make_inputs()
    layer(**inputs)
    # gamma 0: the language tokens pass the v2l step unchanged
    torch.testing.assert_close(captured[0], inputs['lang'])


def test_deformable_attention_runs_in_fp32_under_autocast():
    layer = small_layer()
    dtypes = []
    for proj in (layer.vis_deform_attn.sampling_offsets,
                 layer.vis_deform_attn.output_proj):
        proj.register_forward_hook(lambda m, args, out: dtypes.append(
            (args[0].dtype, out.dtype)))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        vis, _ = layer(**make_inputs())
        assert layer.l2v_attn(vis, vis, vis).dtype == torch.bfloat16
    assert dtypes == [(torch.float32, torch.float32)] * 2


def test_parameter_count_of_caris_layer():
    layer = VLDeformEncoderLayer()  # 256 ch, 8 heads, 3 levels, 4 points
    # 3 attentions + deformable attention + 2 FFNs + 2 gammas + 6 LNs
    expected = 3 * 1051904 + 205600 + 2 * 525568 + 2 * 256 + 6 * 512
    assert expected == 4416032
    assert sum(p.numel() for p in layer.parameters()) == expected
