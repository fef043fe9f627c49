"""Robustness of a referring segmentation model to masked inputs.

MaskRIS claims that training on masked images and sentences makes a model
robust to occlusion and to missing words. This evaluates a checkpoint on a
split under

- image occlusion: a share of the network input's patches is blanked, by
  the training transform ``RandomPatchMask`` (``keep_ratio = 1 - ratio``)
  and, as in training, after normalisation (blanked pixels are 0 there);
- text masking: word pieces are replaced by the training rule of
  ``RandomTextMask`` (each selected with the given rate; 80% [MASK], 10% a
  random id, 10% unchanged),

for every pair of an occlusion ratio and a text-masking rate, with a fixed
seed (every setting and every model sees the same draws). It runs the
config's test pipeline plus the masking transforms through mmengine's
Runner and test loop; the model sees the masked views in place of the
clean ones. It prints oIoU per setting as a table, and writes
``robustness.json``, ``robustness.md`` and a plot ``robustness.png`` to
``--out-dir``; ``--compare`` adds the results of other runs to the plot.

Example (the README's comparison)::

    python tools/analysis/robustness.py \\
        configs/caris_tiny_refshapes_cpu.py work_dirs/plain/iter_N.pth \\
        --patch-size 8 --label CARIS --out-dir work_dirs/robustness/plain
    python tools/analysis/robustness.py \\
        configs/maskris_tiny_refshapes_cpu.py work_dirs/maskris/iter_N.pth \\
        --patch-size 8 --label 'CARIS + MaskRIS' \\
        --out-dir work_dirs/robustness/maskris \\
        --compare work_dirs/robustness/plain/robustness.json
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.runner import Runner, TestLoop, set_random_seed
from torch import nn

from mmris.utils import load_checkpoint_strict, register_all_modules

METRIC_KEY = 'oIoU'


def parse_args(argv: Optional[Sequence[str]] = None):
    parser = argparse.ArgumentParser(
        description='oIoU under image occlusion and text masking')
    parser.add_argument('config', help='config file (data, pipeline, model)')
    parser.add_argument('checkpoint', help='model checkpoint')
    parser.add_argument('--split', default='val', help='default: val')
    parser.add_argument(
        '--occlusion', nargs='+', type=float, default=[0, 0.25, 0.5, 0.75],
        help='shares of image patches blanked, each in [0, 1)')
    parser.add_argument(
        '--text-mask', nargs='+', type=float, default=[0, 0.15, 0.3],
        help='word-piece masking rates, each in [0, 1]')
    parser.add_argument(
        '--patch-size', type=int, default=None,
        help="patch size in pixels (default: the config's training "
        'RandomPatchMask); give the same one to models being compared')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--label', default=None,
        help='name of this model in the table and the plot '
        '(default: the config name)')
    parser.add_argument(
        '--out-dir', default=None,
        help='where results and the plot go (default: '
        'work_dirs/robustness/<config name>)')
    parser.add_argument(
        '--compare', nargs='+', default=[],
        help='robustness.json files of other models to plot alongside')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (see tools/train.py)')
    args = parser.parse_args(argv)
    if any(not 0 <= r < 1 for r in args.occlusion):
        parser.error(f'--occlusion ratios must be in [0, 1), got '
                     f'{args.occlusion}')
    if any(not 0 <= r <= 1 for r in args.text_mask):
        parser.error(f'--text-mask rates must be in [0, 1], got '
                     f'{args.text_mask}')
    return args


def _find(pipeline: Sequence[dict], type_name: str) -> Optional[dict]:
    found = [t for t in pipeline if t['type'] == type_name]
    return copy.deepcopy(found[0]) if found else None


def masking_transforms(cfg: Config, occlusion: float, text_rate: float,
                       patch_size: Optional[int]) -> List[dict]:
    """The masking transforms of one setting (none for 0).

    Patch size and the text rule's other probabilities come from the
    config's training transforms when it has them.
    """
    train = cfg.train_dataloader.dataset.pipeline
    transforms = []
    if occlusion > 0:
        patch = _find(train, 'RandomPatchMask')
        if patch_size is None:
            if patch is None:
                raise ValueError(
                    'the config has no RandomPatchMask in its train '
                    'pipeline to take the patch size from: pass '
                    '--patch-size')
            patch_size = patch['patch_size']
        transforms.append(
            dict(
                type='RandomPatchMask',
                patch_size=patch_size,
                keep_ratio=1 - occlusion))
    if text_rate > 0:
        text = _find(train, 'RandomTextMask')
        if text is None:
            tokenize = _find(cfg.test_dataloader.dataset.pipeline,
                             'TokenizeText')
            if tokenize is None:
                raise ValueError('the test pipeline has no TokenizeText: '
                                 'cannot mask word pieces')
            text = dict(type='RandomTextMask', tokenizer=tokenize['tokenizer'])
        text['select_prob'] = text_rate
        transforms.append(text)
    return transforms


class MaskedViews(nn.Module):
    """Wraps a RIS data preprocessor so that the model sees the masked
    views (``masked_imgs``, ``masked_input_ids``) in place of the clean
    ones, when the batch has them.

    Args:
        preprocessor (nn.Module): The model's ``RISDataPreProcessor``.
    """

    def __init__(self, preprocessor: nn.Module):
        super().__init__()
        self.preprocessor = preprocessor

    def forward(self, data: dict, training: bool = False) -> dict:
        out = self.preprocessor(data, training)
        inputs = out['inputs']
        for clean, masked in (('imgs', 'masked_imgs'),
                              ('input_ids', 'masked_input_ids')):
            if masked in inputs:
                inputs[clean] = inputs.pop(masked)
        return out


def build_runner(cfg: Config, checkpoint: str, work_dir: str,
                 seed: int) -> Runner:
    """A Runner of ``cfg`` with ``checkpoint`` loaded (strictly) and its
    data preprocessor wrapped in :class:`MaskedViews`."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.load_from = None  # loaded below, strictly
    cfg.resume = False
    cfg.randomness = dict(seed=seed)
    if 'visualization' in cfg.get('default_hooks', {}):
        cfg.default_hooks.visualization.draw = False
    runner = Runner.from_cfg(cfg)
    load_checkpoint_strict(runner.model, checkpoint, config_name=cfg.filename)
    runner.call_hook('before_run')  # as Runner.test() does (log files)
    runner.model.data_preprocessor = MaskedViews(
        runner.model.data_preprocessor)
    return runner


def evaluate_setting(runner: Runner, cfg: Config, split: str,
                     occlusion: float, text_rate: float,
                     patch_size: Optional[int], seed: int) -> dict:
    """Metrics of one (occlusion, text rate) setting: the config's test
    dataloader and evaluator, masking transforms added, in a test loop of
    ``runner`` (see :func:`build_runner`). The RNGs are re-seeded with
    ``seed`` first, so every setting and model sees the same draws."""
    dataloader = copy.deepcopy(cfg.test_dataloader)
    pipeline = list(dataloader.dataset.pipeline)
    pack = [i for i, t in enumerate(pipeline) if t['type'] == 'PackRISInputs']
    if not pack:
        raise ValueError('the test pipeline has no PackRISInputs')
    pipeline[pack[0]:pack[0]] = masking_transforms(cfg, occlusion, text_rate,
                                                   patch_size)
    dataloader.dataset.update(
        split=split, text_mode='original', pipeline=pipeline)
    set_random_seed(seed)
    loop = TestLoop(runner, dataloader, copy.deepcopy(cfg.test_evaluator))
    # hooks read runner.test_loop (e.g. its dataloader length)
    runner._test_loop = loop
    metrics = dict(loop.run())
    runner._test_loop = None
    del loop  # stops its loader workers
    gc.collect()
    return metrics


def format_table(results: dict, key: str = METRIC_KEY) -> str:
    """Markdown: one row per occlusion ratio, one column per text rate."""
    rates = results['text_mask']
    lines = [
        f'| {results["label"]}: {key}, occlusion \\ text masking | ' +
        ' | '.join(f'{r:g}' for r in rates) + ' |',
        '|---|' + '---|' * len(rates)
    ]
    for occ in results['occlusion']:
        cells = [
            results['settings'][f'{occ:g}/{r:g}'][key] for r in rates
        ]
        lines.append(f'| {occ:g} | ' +
                     ' | '.join(f'{c:.2f}' for c in cells) + ' |')
    return '\n'.join(lines)


def plot(runs: Sequence[dict], path: str, key: str = METRIC_KEY) -> None:
    """oIoU against occlusion, one line per (model, text rate)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    styles = ['-', '--', ':', '-.']
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for m, run in enumerate(runs):
        colour = f'C{m}'
        for t, rate in enumerate(run['text_mask']):
            ys = [
                run['settings'][f'{occ:g}/{rate:g}'][key]
                for occ in run['occlusion']
            ]
            ax.plot(
                run['occlusion'], ys, styles[t % len(styles)], marker='o',
                color=colour, label=f'{run["label"]}, text masked {rate:g}')
    ax.set_xlabel('share of image patches blanked')
    ax.set_ylabel(f'{key} (%)')
    ax.set_title(f'Robustness on {runs[0]["split"]}')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    name = osp.splitext(osp.basename(args.config))[0]
    out_dir = args.out_dir or osp.join('work_dirs', 'robustness', name)
    os.makedirs(out_dir, exist_ok=True)
    others = []
    for path in args.compare:  # read first: fail before the long part
        with open(path) as f:
            others.append(json.load(f))

    results = dict(
        label=args.label or name,
        config=args.config,
        checkpoint=args.checkpoint,
        split=args.split,
        seed=args.seed,
        occlusion=list(args.occlusion),
        text_mask=list(args.text_mask),
        settings={})
    for occ in args.occlusion:  # fail early on a missing patch size
        masking_transforms(cfg, occ, 0, args.patch_size)
    runner = build_runner(cfg, args.checkpoint, osp.join(out_dir, 'runs'),
                          args.seed)
    for occ in args.occlusion:
        for rate in args.text_mask:
            results['settings'][f'{occ:g}/{rate:g}'] = evaluate_setting(
                runner, cfg, args.split, occ, rate, args.patch_size,
                args.seed)
    runner.call_hook('after_run')
    table = format_table(results)
    print(f'\nrobustness on {args.split} ({METRIC_KEY}, seed {args.seed}):')
    print(table)
    with open(osp.join(out_dir, 'robustness.json'), 'w') as f:
        json.dump(results, f, indent=2)
    with open(osp.join(out_dir, 'robustness.md'), 'w') as f:
        f.write(table + '\n')
    plot([*others, results], osp.join(out_dir, 'robustness.png'))
    print(f'wrote {out_dir}/robustness.{{json,md,png}}')
    return results


if __name__ == '__main__':
    main()
