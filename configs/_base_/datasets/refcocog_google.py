# RefCOCOg, Google splits (train / val; there is no public test split):
#   data/coco/refcocog/{instances.json,refs(google).p} + data/coco/train2014/
_base_ = './refcoco.py'

ann_file = 'refcocog/instances.json'
split_file = 'refcocog/refs(google).p'
test_split = 'val'

train_dataloader = dict(
    dataset=dict(ann_file=ann_file, split_file=split_file))
val_dataloader = dict(dataset=dict(ann_file=ann_file, split_file=split_file))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file, split_file=split_file, split=test_split))
