"""MaskRIS input masking: random text masking and random patch masking."""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmris.registry import TRANSFORMS
from .text import load_tokenizer

#: bert-base-uncased: [PAD], [UNK], [CLS], [SEP], [MASK]; vocabulary size.
BERT_SPECIAL_IDS = (0, 100, 101, 102, 103)
BERT_MASK_ID = 103
BERT_VOCAB_SIZE = 30522


@TRANSFORMS.register_module()
class RandomTextMask(BaseTransform):
    """BERT-style masking of word pieces (MaskRIS text masking).

    Every id not in ``special_ids`` is selected with probability
    ``select_prob``; a selected id becomes ``mask_id`` with probability
    ``mask_token_prob``, a random id in ``[0, vocab_size)`` with probability
    ``random_token_prob``, and stays unchanged otherwise. The attention mask
    is not changed.

    ``random_excludes_special=False`` (default) reproduces the reference:
    the random id may be a special or ``[unusedN]`` id. True redraws until
    the id is not in ``special_ids``.

    Ids and sizes default to bert-base-uncased's; with ``tokenizer`` set,
    the ones left None are read from that tokenizer instead (special ids =
    its ``all_special_ids``, vocabulary size = ``len(tokenizer)``).

    Required Keys:

    - input_ids

    Added Keys:

    - masked_input_ids (np.int64, same shape)

    Args:
        select_prob (float): Chance of selecting a word piece. Defaults to
            0.15.
        mask_token_prob (float): Chance that a selected piece becomes
            ``mask_id``. Defaults to 0.8.
        random_token_prob (float): Chance that a selected piece becomes a
            random id. Defaults to 0.1.
        special_ids (Sequence[int], optional): Ids never selected.
        mask_id (int, optional): The [MASK] id.
        vocab_size (int, optional): Random ids are drawn from
            ``[0, vocab_size)``.
        tokenizer (str, optional): Tokenizer name/folder to read the three
            values above from.
        random_excludes_special (bool): See above. Defaults to False.
    """

    def __init__(self,
                 select_prob: float = 0.15,
                 mask_token_prob: float = 0.8,
                 random_token_prob: float = 0.1,
                 special_ids: Optional[Sequence[int]] = None,
                 mask_id: Optional[int] = None,
                 vocab_size: Optional[int] = None,
                 tokenizer: Optional[str] = None,
                 random_excludes_special: bool = False) -> None:
        for name, p in (('select_prob', select_prob),
                        ('mask_token_prob', mask_token_prob),
                        ('random_token_prob', random_token_prob)):
            if not 0 <= p <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {p}')
        if mask_token_prob + random_token_prob > 1:
            raise ValueError(
                'mask_token_prob + random_token_prob must be <= 1, got '
                f'{mask_token_prob} + {random_token_prob}')
        tok = load_tokenizer(tokenizer) if tokenizer else None
        if special_ids is None:
            special_ids = tok.all_special_ids if tok else BERT_SPECIAL_IDS
        if mask_id is None:
            mask_id = tok.mask_token_id if tok else BERT_MASK_ID
        if vocab_size is None:
            vocab_size = len(tok) if tok else BERT_VOCAB_SIZE
        if mask_id is None:
            raise ValueError(f'tokenizer {tokenizer!r} has no mask token: '
                             'set mask_id')
        self.select_prob = select_prob
        self.mask_token_prob = mask_token_prob
        self.random_token_prob = random_token_prob
        self.special_ids = tuple(sorted(int(i) for i in special_ids))
        self.mask_id = int(mask_id)
        self.vocab_size = int(vocab_size)
        self.tokenizer = tokenizer
        self.random_excludes_special = random_excludes_special

    @cache_randomness
    def _draw(self, n: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Selection draws, action draws and random ids for ``n`` tokens."""
        select = np.random.rand(n)
        action = np.random.rand(n)
        random_ids = np.random.randint(0, self.vocab_size, size=n)
        if self.random_excludes_special:
            special = np.isin(random_ids, self.special_ids)
            while special.any():
                random_ids[special] = np.random.randint(
                    0, self.vocab_size, size=int(special.sum()))
                special = np.isin(random_ids, self.special_ids)
        return select, action, random_ids

    def transform(self, results: dict) -> dict:
        input_ids = results['input_ids']
        select, action, random_ids = self._draw(input_ids.size)
        select = select.reshape(input_ids.shape)
        action = action.reshape(input_ids.shape)
        random_ids = random_ids.reshape(input_ids.shape)
        selected = (select < self.select_prob) & \
            ~np.isin(input_ids, self.special_ids)
        to_mask = selected & (action < self.mask_token_prob)
        to_random = selected & (action >= self.mask_token_prob) & (
            action < self.mask_token_prob + self.random_token_prob)
        masked = input_ids.astype(np.int64, copy=True)
        masked[to_mask] = self.mask_id
        masked[to_random] = random_ids[to_random]
        results['masked_input_ids'] = masked
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(select_prob={self.select_prob}, '
                f'mask_token_prob={self.mask_token_prob}, '
                f'random_token_prob={self.random_token_prob}, '
                f'special_ids={self.special_ids}, mask_id={self.mask_id}, '
                f'vocab_size={self.vocab_size}, tokenizer={self.tokenizer!r}, '
                f'random_excludes_special={self.random_excludes_special})')


@TRANSFORMS.register_module()
class RandomPatchMask(BaseTransform):
    """Draw which image patches to keep (MaskRIS image masking).

    The network input (``img`` after ``Resize``) is cut into a grid of
    ``patch_size`` patches; ``int(num_patches * keep_ratio)`` patches drawn
    uniformly are kept, the others are to be blanked. At 448x448 with 32 px
    patches that is 49 of 196. When a side is not a multiple of the patch
    size, the grid is ``ceil(side / patch)`` patches long and the last
    row/column of patches is cut short at the image border (so every pixel
    belongs to exactly one patch and all patches count alike).

    This transform only draws ``img_keep_mask``; the data preprocessor
    multiplies the normalised image by it, so blanked pixels are exactly 0
    after normalisation (the mean colour in raw pixel space).

    Required Keys:

    - img (the network input)

    Added Keys:

    - img_keep_mask (np.uint8 HxW, 1 keeps a pixel, 0 blanks it)

    Args:
        patch_size (int | tuple[int, int]): Patch size, or (h, w).
            Defaults to 32.
        keep_ratio (float): Share of patches kept. Defaults to 0.25.
    """

    def __init__(self,
                 patch_size: Union[int, Tuple[int, int]] = 32,
                 keep_ratio: float = 0.25) -> None:
        if isinstance(patch_size, int):
            patch_size = (patch_size, patch_size)
        patch_size = tuple(int(p) for p in patch_size)
        if len(patch_size) != 2 or min(patch_size) < 1:
            raise ValueError(f'patch_size must be a positive int or (h, w), '
                             f'got {patch_size}')
        if not 0 <= keep_ratio <= 1:
            raise ValueError(f'keep_ratio must be in [0, 1], got {keep_ratio}')
        self.patch_size = patch_size
        self.keep_ratio = keep_ratio

    @cache_randomness
    def _draw(self, num_patches: int) -> np.ndarray:
        """Indices of the patches to keep."""
        num_keep = int(num_patches * self.keep_ratio)
        return np.random.permutation(num_patches)[:num_keep]

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        ph, pw = self.patch_size
        gh, gw = math.ceil(h / ph), math.ceil(w / pw)
        grid = np.zeros(gh * gw, dtype=np.uint8)
        grid[self._draw(gh * gw)] = 1
        grid = grid.reshape(gh, gw)
        keep = np.repeat(np.repeat(grid, ph, axis=0), pw, axis=1)[:h, :w]
        results['img_keep_mask'] = np.ascontiguousarray(keep)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(patch_size={self.patch_size}, '
                f'keep_ratio={self.keep_ratio})')
