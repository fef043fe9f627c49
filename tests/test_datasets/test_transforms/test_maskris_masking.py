import numpy as np
import pytest

from mmris.datasets.transforms import RandomPatchMask, RandomTextMask

SPECIAL = (0, 100, 101, 102, 103)


def sentences(rows=10000, word=5000):
    """[CLS] 15 x word [SEP] [PAD] [PAD]: 150,000 maskable pieces."""
    ids = np.full((rows, 20), word, dtype=np.int64)
    ids[:, 0], ids[:, 16], ids[:, 17:] = 101, 102, 0
    return ids


def test_text_mask_rates():
    np.random.seed(0)
    ids = sentences()
    masked = RandomTextMask()(dict(input_ids=ids))['masked_input_ids']
    assert masked.dtype == np.int64 and masked.shape == ids.shape
    special = np.isin(ids, SPECIAL)
    assert (masked[special] == ids[special]).all()
    words = masked[~special]
    n = words.size
    to_mask = (words == 103).mean()
    to_random = ((words != 103) & (words != 5000)).mean()
    unchanged = (words == 5000).mean()
    # selected 0.15: 0.8 -> [MASK], 0.1 -> random id, 0.1 -> unchanged
    assert n == 150000
    assert abs(to_mask - 0.12) < 0.004
    assert abs(to_random - 0.015) < 0.002
    assert abs(unchanged - (0.85 + 0.015)) < 0.004
    assert abs((to_mask + to_random) / 0.9 - 0.15) < 0.005


def test_text_mask_ratios_are_configurable():
    np.random.seed(0)
    masked = RandomTextMask(
        select_prob=0.5, mask_token_prob=0.0, random_token_prob=1.0)(
            dict(input_ids=sentences(2000)))['masked_input_ids']
    words = masked[:, 1:16]
    assert not (words == 103).any()
    assert abs((words != 5000).mean() - 0.5) < 0.02
    with pytest.raises(ValueError, match='must be <= 1'):
        RandomTextMask(mask_token_prob=0.8, random_token_prob=0.3)
    with pytest.raises(ValueError, match=r'select_prob must be in \[0, 1\]'):
        RandomTextMask(select_prob=1.5)


@pytest.mark.parametrize('exclude', [False, True])
def test_random_ids_and_special_ids(exclude):
    np.random.seed(0)
    t = RandomTextMask(
        select_prob=1.0,
        mask_token_prob=0.0,
        random_token_prob=1.0,
        vocab_size=110,
        random_excludes_special=exclude)
    masked = t(dict(input_ids=sentences(500)))['masked_input_ids'][:, 1:16]
    assert masked.min() >= 0 and masked.max() < 110
    # the reference may put [PAD]/[CLS]/... into a sentence; the option not
    assert np.isin(masked, SPECIAL).any() != exclude


def test_text_mask_keeps_attention_mask_and_is_seeded():
    ids = sentences(4)
    attention = (ids != 0).astype(np.int64)
    np.random.seed(3)
    a = RandomTextMask()(dict(input_ids=ids, attention_mask=attention))
    np.random.seed(3)
    b = RandomTextMask()(dict(input_ids=ids.copy()))
    assert (a['masked_input_ids'] == b['masked_input_ids']).all()
    assert (a['attention_mask'] == attention).all()
    assert (a['input_ids'] == ids).all()  # the clean view stays


def test_text_mask_reads_ids_from_tokenizer(minilm_dir):
    t = RandomTextMask(tokenizer=minilm_dir)
    assert t.special_ids == SPECIAL
    assert t.mask_id == 103 and t.vocab_size == 30522


def blocks(mask, patch):
    """Per-patch values; asserts each patch is all 0 or all 1."""
    h, w = mask.shape
    out = []
    for y in range(0, h, patch):
        row = []
        for x in range(0, w, patch):
            block = mask[y:y + patch, x:x + patch]
            assert block.min() == block.max()
            row.append(int(block[0, 0]))
        out.append(row)
    return np.array(out)


def test_patch_mask_keeps_49_of_196_at_448():
    np.random.seed(0)
    img = np.zeros((448, 448, 3), np.uint8)
    keep = RandomPatchMask()(dict(img=img))['img_keep_mask']
    assert keep.dtype == np.uint8 and keep.shape == (448, 448)
    grid = blocks(keep, 32)
    assert grid.shape == (14, 14) and grid.sum() == 49
    assert keep.sum() == 49 * 32 * 32
    other = RandomPatchMask()(dict(img=img))['img_keep_mask']
    assert not (other == keep).all()  # drawn afresh per sample


def test_patch_mask_ratio_and_size_are_configurable():
    np.random.seed(0)
    img = np.zeros((448, 448, 3), np.uint8)
    keep = RandomPatchMask(patch_size=16, keep_ratio=0.5)(
        dict(img=img))['img_keep_mask']
    assert blocks(keep, 16).sum() == 392  # int(28 * 28 * 0.5)


def test_patch_mask_on_sizes_not_divisible_by_the_patch():
    np.random.seed(0)
    for _ in range(20):
        keep = RandomPatchMask()(dict(
            img=np.zeros((100, 70, 3), np.uint8)))['img_keep_mask']
        assert keep.shape == (100, 70)
        grid = blocks(keep, 32)  # 4 x 3 patches, the last ones cut short
        assert grid.shape == (4, 3) and grid.sum() == 3  # int(12 * 0.25)


def test_patch_mask_bad_arguments():
    with pytest.raises(ValueError, match='keep_ratio must be in'):
        RandomPatchMask(keep_ratio=2)
    with pytest.raises(ValueError, match='patch_size must be a positive'):
        RandomPatchMask(patch_size=0)
