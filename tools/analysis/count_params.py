"""Parameter count of a config's RIS model, split by part.

Example::

    python tools/analysis/count_params.py \\
        configs/_base_/models/caris_swinb.py --fake-bert-cache --forward 448

prints the parameters (and trainable ones) of the visual backbone, neck,
text encoder, prompt generator and decode head of the RIS segmentor (inside
a MaskRIS wrapper too), and the total. No pretrained weights are loaded
(``init_weights`` is not called). ``--fake-bert-cache`` builds text encoders
named ``bert-base-uncased`` from a temporary offline cache with bert-base's
architecture and random weights (tools/misc/fake_hf_cache.py), for machines
that cannot download it. ``--forward S`` also runs one SxS image with
``--num-tokens`` word pieces through the model and prints the logits shape.
"""
import argparse
import atexit
import os
import os.path as osp
import shutil
import sys
import tempfile

from mmengine.config import Config, DictAction

PARTS = ('backbone', 'neck', 'text_encoder', 'prompt_generator',
         'decode_head')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Count the parameters of a RIS model config')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--fake-bert-cache',
        action='store_true',
        help='serve bert-base-uncased from a temporary offline cache with '
        'random weights (shapes only)')
    parser.add_argument(
        '--forward',
        type=int,
        metavar='S',
        help='also run a forward pass of one SxS image')
    parser.add_argument(
        '--num-tokens',
        type=int,
        default=20,
        help='word pieces of the --forward sentence (default 20)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    return parser.parse_args()


def use_fake_bert_cache() -> str:
    """Point HF at a temporary cache holding a stand-in bert-base-uncased;
    must run before transformers is imported."""
    hf_home = tempfile.mkdtemp(prefix='mmris_hf_')
    atexit.register(shutil.rmtree, hf_home, ignore_errors=True)
    os.environ['HF_HOME'] = hf_home
    os.environ['HF_HUB_OFFLINE'] = '1'
    sys.path.insert(0, osp.join(osp.dirname(__file__), '..', 'misc'))
    from fake_hf_cache import make_fake_bert_cache
    make_fake_bert_cache(hf_home)
    return hf_home


def find_segmentor(model):
    """The first submodule with a backbone, a text encoder and a head."""
    for module in model.modules():
        if all(hasattr(module, p) for p in
               ('backbone', 'text_encoder', 'decode_head')):
            return module
    raise TypeError(f'{type(model).__name__} contains no RIS segmentor '
                    '(a module with backbone, text_encoder and decode_head)')


def count(module):
    if module is None:
        return 0, 0
    params = list(module.parameters())
    return (sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad))


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.fake_bert_cache:
        print('bert-base-uncased: random weights from '
              f'{use_fake_bert_cache()}')

    import torch
    from mmengine.registry import init_default_scope

    from mmris.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmris'))
    model = MODELS.build(cfg.model)
    segmentor = find_segmentor(model)

    rows = []
    for part in PARTS:
        module = getattr(segmentor, part, None)
        if module is not None:
            rows.append((f'{part} ({type(module).__name__})', *count(module)))
    total, trainable = count(model)
    rest = (total - sum(r[1] for r in rows),
            trainable - sum(r[2] for r in rows))
    if rest[0]:
        rows.append(('other', *rest))
    rows.append(('total', total, trainable))
    width = max(len(r[0]) for r in rows)
    print(f'{"part":<{width}}  {"parameters":>13}  {"trainable":>13}')
    for name, n, t in rows:
        print(f'{name:<{width}}  {n:>13,}  {t:>13,}')

    if args.forward:
        model.eval()
        inputs = dict(
            imgs=torch.randn(1, 3, args.forward, args.forward),
            input_ids=torch.randint(1000, 2000, (1, args.num_tokens)),
            attention_mask=torch.ones(1, args.num_tokens, dtype=torch.long))
        with torch.no_grad():
            logits = segmentor._forward(inputs)
        print(f'logits for a {args.forward}x{args.forward} image and '
              f'{args.num_tokens} tokens: {list(logits.shape)}')


if __name__ == '__main__':
    main()
