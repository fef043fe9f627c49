# RefCOCOg, UMD splits (train / val / test), mmdet's layout:
#   data/coco/refcocog/{instances.json,refs(umd).p} + data/coco/train2014/
_base_ = './refcoco.py'

ann_file = 'refcocog/instances.json'
split_file = 'refcocog/refs(umd).p'
test_split = 'test'

train_dataloader = dict(
    dataset=dict(ann_file=ann_file, split_file=split_file))
val_dataloader = dict(dataset=dict(ann_file=ann_file, split_file=split_file))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file, split_file=split_file, split=test_split))
