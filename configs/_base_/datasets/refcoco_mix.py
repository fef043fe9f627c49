# Train on the union of RefCOCO, RefCOCO+ and RefCOCOg (umd) train refs
# ("mixed" training), validate on RefCOCO val. Ref/sentence ids of the later
# sources are shifted to stay unique; train refs on images used by any
# val/test split of the three are dropped (no leakage into evaluation).
_base_ = './refcoco.py'

train_dataloader = dict(
    dataset=dict(
        ann_file=[
            'refcoco/instances.json', 'refcoco+/instances.json',
            'refcocog/instances.json'
        ],
        split_file=[
            'refcoco/refs(unc).p', 'refcoco+/refs(unc).p',
            'refcocog/refs(umd).p'
        ],
        split='train',
        exclude_images_of_splits=('val', 'test', 'testA', 'testB')))
