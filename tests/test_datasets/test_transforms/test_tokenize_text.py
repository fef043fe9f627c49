import numpy as np
import pytest

from mmris.datasets.transforms import TokenizeText, load_tokenizer

CLS, SEP, PAD = 101, 102, 0
LONG = ('the small red circle to the left of the big blue square which is '
        'right below the yellow triangle near the top edge of the picture')


def test_short_sentence(minilm_dir):
    tok = load_tokenizer(minilm_dir)
    results = TokenizeText(minilm_dir)(dict(text='The red circle'))
    pieces = tok.tokenize('The red circle')
    ids, mask = results['input_ids'], results['attention_mask']
    assert ids.dtype == mask.dtype == np.int64
    assert ids.shape == mask.shape == (20, )
    n = len(pieces) + 2
    assert ids[:n].tolist() == [CLS] + tok.convert_tokens_to_ids(pieces) + [
        SEP
    ]
    assert (ids[n:] == PAD).all()
    assert mask.tolist() == [1] * n + [0] * (20 - n)


def test_truncation_keeps_sep_by_default(minilm_dir):
    tok = load_tokenizer(minilm_dir)
    full = tok(LONG)['input_ids']
    assert len(full) > 20
    ids = TokenizeText(minilm_dir)(dict(text=LONG))['input_ids']
    assert ids.tolist() == full[:19] + [SEP]
    assert TokenizeText(minilm_dir)(dict(text=LONG))['attention_mask'].all()


def test_truncation_can_drop_sep_like_the_reference(minilm_dir):
    tok = load_tokenizer(minilm_dir)
    ids = TokenizeText(
        minilm_dir, sep_on_truncation='drop')(dict(text=LONG))['input_ids']
    assert ids.tolist() == tok(LONG)['input_ids'][:20]
    assert SEP not in ids


def test_max_length_is_configurable(minilm_dir):
    results = TokenizeText(minilm_dir, max_length=6)(dict(text=LONG))
    assert results['input_ids'].shape == (6, )
    assert results['input_ids'][0] == CLS and results['input_ids'][-1] == SEP
    with pytest.raises(ValueError, match='max_length must be >= 3'):
        TokenizeText(minilm_dir, max_length=2)


@pytest.mark.parametrize('text', ['', '   ', '\t\n'])
def test_sentence_without_word_pieces(minilm_dir, text):
    with pytest.raises(ValueError) as e:
        TokenizeText(minilm_dir)(
            dict(text=text, ref_id=7, sent_id=21, img_path='a.jpg'))
    msg = str(e.value)
    assert f'sentence {text!r} (ref_id 7, sent_id 21' in msg
    assert 'tokenises to no word piece' in msg


def test_tokenizer_is_loaded_once_per_process(minilm_dir):
    a, b = TokenizeText(minilm_dir), TokenizeText(minilm_dir, max_length=8)
    assert a.tokenizer is b.tokenizer is load_tokenizer(minilm_dir)


def test_bad_tokenizer_folder(tmp_path):
    with pytest.raises(OSError,
                       match=f"could not load the tokenizer '{tmp_path}'"):
        TokenizeText(str(tmp_path))


def test_bad_sep_mode(minilm_dir):
    with pytest.raises(ValueError, match='sep_on_truncation must be one of'):
        TokenizeText(minilm_dir, sep_on_truncation='cut')
