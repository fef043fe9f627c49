# RefShapes, generated in the REFER format by
#   python tools/data/generate_refshapes.py data/refshapes --level easy
# (splits train / val / testA / testB; testA refers to round shapes, testB
# to angular ones). Same pipelines as RefCOCO.
_base_ = './refcoco.py'

data_root = 'data/refshapes/'
ann_file = 'instances.json'
split_file = 'refs(unc).p'
img_prefix = 'images/'

train_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file=ann_file,
        split_file=split_file,
        data_prefix=dict(img_path=img_prefix)))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file=ann_file,
        split_file=split_file,
        data_prefix=dict(img_path=img_prefix)))
test_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file=ann_file,
        split_file=split_file,
        data_prefix=dict(img_path=img_prefix)))
