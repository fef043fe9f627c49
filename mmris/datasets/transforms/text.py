from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmris.registry import TRANSFORMS

_TOKENIZERS: dict = {}


def load_tokenizer(name_or_dir: str, **kwargs):
    """Load a Hugging Face tokenizer once per process.

    Args:
        name_or_dir (str): A hub name (e.g. ``'bert-base-uncased'``, needs
            the local HF cache when offline) or a folder with tokenizer files.
        **kwargs: More ``AutoTokenizer.from_pretrained`` arguments.

    Returns:
        The tokenizer, shared by every caller with the same arguments.
    """
    key = (name_or_dir, tuple(sorted(kwargs.items())))
    if key not in _TOKENIZERS:
        from transformers import AutoTokenizer
        try:
            _TOKENIZERS[key] = AutoTokenizer.from_pretrained(
                name_or_dir, **kwargs)
        except (OSError, ValueError) as e:
            raise OSError(
                f'could not load the tokenizer {name_or_dir!r}: expected a '
                'Hugging Face model name available offline (HF cache) or a '
                f'folder with tokenizer files ({e})') from e
    return _TOKENIZERS[key]


@TRANSFORMS.register_module()
class TokenizeText(BaseTransform):
    """Tokenise ``text`` into fixed-length word-piece ids.

    The sequence is ``[CLS] pieces [SEP]`` (the tokenizer's own special
    tokens), truncated to ``max_length`` and padded with the pad id (0 for
    BERT). On truncation ``sep_on_truncation`` decides the end:

    - ``'keep'`` (default): the last position holds [SEP], so every sequence
      ends as BERT saw in pre-training; keeps ``max_length - 2`` pieces.
    - ``'drop'``: plain cut after ``max_length`` ids, so a long sentence has
      no [SEP] (what the LAVT/CARIS reference code does); keeps one piece
      more.

    A sentence with no word piece (empty, whitespace, only characters the
    tokenizer drops or maps to [UNK]: only special ids are left) is an error
    naming the sample.

    Required Keys:

    - text

    Added Keys:

    - input_ids (np.int64 (max_length,))
    - attention_mask (np.int64 (max_length,), 1 on real tokens)

    Args:
        tokenizer (str): Hugging Face name or local folder.
        max_length (int): Output length, special tokens included.
            Defaults to 20.
        sep_on_truncation (str): ``'keep'`` or ``'drop'``. Defaults to
            ``'keep'``.
        tokenizer_cfg (dict, optional): More ``from_pretrained`` arguments.
    """

    SEP_MODES = ('keep', 'drop')

    def __init__(self,
                 tokenizer: str,
                 max_length: int = 20,
                 sep_on_truncation: str = 'keep',
                 tokenizer_cfg: Optional[dict] = None) -> None:
        if sep_on_truncation not in self.SEP_MODES:
            raise ValueError(f'sep_on_truncation must be one of '
                             f'{self.SEP_MODES}, got {sep_on_truncation!r}')
        if max_length < 3:
            raise ValueError(f'max_length must be >= 3 ([CLS], one piece, '
                             f'[SEP]), got {max_length}')
        self.tokenizer_name = tokenizer
        self.max_length = max_length
        self.sep_on_truncation = sep_on_truncation
        self.tokenizer_cfg = dict(tokenizer_cfg or {})
        tok = self.tokenizer  # load now: a bad name fails at build time
        self._special_ids = frozenset(tok.all_special_ids)
        self._pad_id = tok.pad_token_id or 0

    @property
    def tokenizer(self):
        """The process-wide cached tokenizer."""
        return load_tokenizer(self.tokenizer_name, **self.tokenizer_cfg)

    def transform(self, results: dict) -> dict:
        text = results['text']
        ids = self.tokenizer(text, add_special_tokens=True)['input_ids']
        if all(i in self._special_ids for i in ids):
            where = ', '.join(f'{k} {results[k]}'
                              for k in ('ref_id', 'sent_id') if k in results)
            raise ValueError(
                f'sentence {text!r} ({where}, image '
                f'{results.get("img_path")!r}) tokenises to no word piece: '
                'expected a non-empty referring expression')
        if len(ids) > self.max_length:
            if self.sep_on_truncation == 'keep' and \
                    ids[-1] in self._special_ids:
                ids = ids[:self.max_length - 1] + ids[-1:]
            else:
                ids = ids[:self.max_length]
        n = len(ids)
        input_ids = np.full(self.max_length, self._pad_id, dtype=np.int64)
        input_ids[:n] = ids
        attention_mask = np.zeros(self.max_length, dtype=np.int64)
        attention_mask[:n] = 1
        results['input_ids'] = input_ids
        results['attention_mask'] = attention_mask
        return results

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(tokenizer='{self.tokenizer_name}'"
                f', max_length={self.max_length}, '
                f"sep_on_truncation='{self.sep_on_truncation}', "
                f'tokenizer_cfg={self.tokenizer_cfg})')
