# The CPU main job (bash tools/quickstart.sh): MaskRIS around the small
# CARIS of caris_tiny_refshapes_cpu.py, same recipe, trained from scratch on
# the generated RefShapes set in minutes on 2 cores. See docs/cpu_recipe.md.
#   python tools/data/generate_refshapes.py data/refshapes_cpu --level easy \
#       --num-train 2000 --num-val 100 --num-test 50 --width 96 --height 96
#   python tools/train.py configs/maskris_tiny_refshapes_cpu.py
_base_ = './caris_tiny_refshapes_cpu.py'

patch_size = 8  # image masking: 12x12 patches of the 96x96 input, 25% kept

model = dict(
    _delete_=True,
    type='MaskRIS',
    segmentor=_base_.model,
    mode='concat',
    clean_weight=0.5,
    distill_weight=0.5,
    loss_distill=dict(type='RISCrossEntropyLoss', class_weight=[0.9, 1.1]))

# the masked views, drawn before packing (as in the paper's recipe)
train_pipeline = _base_.train_pipeline[:-1] + [
    dict(type='RandomPatchMask', patch_size=patch_size, keep_ratio=0.25),
    dict(
        type='RandomTextMask',
        tokenizer=_base_.minilm,
        select_prob=0.15,
        mask_token_prob=0.8,
        random_token_prob=0.1,
        random_excludes_special=False),
] + _base_.train_pipeline[-1:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
