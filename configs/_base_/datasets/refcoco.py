# RefCOCO (UNC splits: train / val / testA / testB), mmdet's layout:
#   data/coco/refcoco/{instances.json,refs(unc).p} + data/coco/train2014/
# See tools/data/README.md.
dataset_type = 'RefCocoDataset'
data_root = 'data/coco/'
ann_file = 'refcoco/instances.json'
split_file = 'refcoco/refs(unc).p'
img_prefix = 'train2014/'
val_split = 'val'
test_split = 'testA'

# Hugging Face name or local folder. A config that changes it after
# inheriting this file must pass it on to the pipelines too, e.g.
#   train_dataloader = dict(dataset=dict(pipeline=[
#       dict(t, tokenizer=tokenizer) if 'tokenizer' in t else t
#       for t in _base_.train_pipeline]))
tokenizer = 'bert-base-uncased'
max_length = 20  # word pieces, [CLS] and [SEP] included
img_scale = (448, 448)  # (w, h); aspect not kept, no other augmentation

train_pipeline = [
    dict(type='LoadReferImage', color_type='color_ignore_orientation'),
    dict(type='LoadReferMask'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='CheckReferMask', on_empty='error'),
    dict(type='TokenizeText', tokenizer=tokenizer, max_length=max_length),
    # MaskRIS views: drawn here, applied by the data preprocessor / model
    dict(type='RandomPatchMask', patch_size=32, keep_ratio=0.25),
    dict(
        type='RandomTextMask',
        tokenizer=tokenizer,
        select_prob=0.15,
        mask_token_prob=0.8,
        random_token_prob=0.1,
        random_excludes_special=False),
    dict(type='PackRISInputs'),
]
test_pipeline = [
    dict(type='LoadReferImage', color_type='color_ignore_orientation'),
    dict(type='LoadReferMask'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='CheckReferMask', on_empty='error'),
    dict(type='TokenizeText', tokenizer=tokenizer, max_length=max_length),
    dict(type='PackRISInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        split_file=split_file,
        data_prefix=dict(img_path=img_prefix),
        split='train',  # one sample per ref, sentence drawn at each load
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        split_file=split_file,
        data_prefix=dict(img_path=img_prefix),
        split=val_split,  # one sample per sentence
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file,
        split_file=split_file,
        data_prefix=dict(img_path=img_prefix),
        split=test_split,
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='RISMetric')
test_evaluator = val_evaluator
