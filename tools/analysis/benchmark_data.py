"""Throughput of a config's data pipeline, and where its time goes.

Example::

    python tools/analysis/benchmark_data.py \\
        configs/_base_/datasets/refshapes.py --tokenizer <folder>

prints (1) the time to build the dataset, (2) the time per sample of each
transform in one process (decode, mask, resize, tokenise, masking, packing),
(3) samples/s through a DataLoader with each number of workers, total and
per worker. No model runs. Each figure is the best of ``--repeat`` runs, as
other work on the machine only ever slows a run down.
"""
import argparse
import time
from collections import defaultdict

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmris.registry import DATASETS

#: What each transform's time counts as in the summary.
STAGES = {
    'LoadReferImage': 'decode',
    'LoadImageFromFile': 'decode',
    'LoadReferMask': 'mask',
    'Resize': 'resize',
    'CheckReferMask': 'resize',
    'TokenizeText': 'tokenise',
    'RandomPatchMask': 'masking',
    'RandomTextMask': 'masking',
    'PackRISInputs': 'pack',
}


def parse_args():
    parser = argparse.ArgumentParser(
        description='Benchmark the data pipeline of a config')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--dataloader',
        default='train_dataloader',
        help='which dataloader of the config (train_dataloader, '
        'val_dataloader, test_dataloader)')
    parser.add_argument(
        '--workers', type=int, nargs='+', default=[0, 1, 2],
        help='numbers of DataLoader workers to measure')
    parser.add_argument(
        '--num-samples', type=int, default=200,
        help='samples timed per measurement')
    parser.add_argument(
        '--warmup', type=int, default=16,
        help='samples loaded before timing (worker start-up)')
    parser.add_argument(
        '--repeat', type=int, default=3,
        help='repeat each measurement, keep the best (the machine may be '
        'busy with other work)')
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument(
        '--tokenizer',
        help='set the tokenizer of every transform that has one')
    parser.add_argument(
        '--imdecode-backend',
        help='set the image decoding backend (cv2, pillow, turbojpeg)')
    parser.add_argument(
        '--raw-masks',
        action='store_true',
        help='keep polygons in the data list (encode_masks=False): '
        'rasterise every load, as the reference code does')
    parser.add_argument(
        '--no-shared-buffers',
        action='store_true',
        help='PackRISInputs(share_buffers=False): one tensor storage each')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, xxx=yyy format')
    return parser.parse_args()


def patch_config(cfg: Config, args) -> dict:
    """The chosen dataloader config with the command-line overrides."""
    loader_cfg = cfg[args.dataloader]
    dataset = loader_cfg.dataset
    for t in dataset.pipeline:
        if args.tokenizer and 'tokenizer' in t:
            t.tokenizer = args.tokenizer
        if args.imdecode_backend and t.type in ('LoadReferImage',
                                                'LoadImageFromFile'):
            t.imdecode_backend = args.imdecode_backend
        if args.no_shared_buffers and t.type == 'PackRISInputs':
            t.share_buffers = False
    if args.raw_masks:
        dataset.encode_masks = False
    if args.batch_size:
        loader_cfg.batch_size = args.batch_size
    return loader_cfg


def profile_transforms(dataset, num: int) -> dict:
    """Seconds per sample of reading the data info and of each transform."""
    times = defaultdict(float)
    for k in range(num):
        idx = k % len(dataset)
        start = time.perf_counter()
        results = dataset.get_data_info(idx)
        times['data info'] += time.perf_counter() - start
        for t in dataset.pipeline.transforms:
            start = time.perf_counter()
            results = t(results)
            times[type(t).__name__] += time.perf_counter() - start
            if results is None:
                break
    return {k: v / num for k, v in times.items()}


def measure_loader(loader_cfg: dict, dataset, workers: int, num: int,
                   warmup: int) -> float:
    """Samples per second through a DataLoader with ``workers`` workers."""
    cfg = dict(loader_cfg)
    cfg.update(
        dataset=dataset,
        num_workers=workers,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True))
    if workers == 0:
        cfg.pop('prefetch_factor', None)
    loader = Runner.build_dataloader(cfg, seed=0)
    seen, start = 0, None
    while True:
        for batch in loader:
            seen += len(batch['inputs'])
            if start is None and seen >= warmup:
                start, seen = time.perf_counter(), 0
            elif start is not None and seen >= num:
                return seen / (time.perf_counter() - start)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmris'))
    loader_cfg = patch_config(cfg, args)

    start = time.perf_counter()
    dataset = DATASETS.build(loader_cfg.dataset)
    dataset.full_init()
    print(f'dataset: {len(dataset)} samples, built in '
          f'{time.perf_counter() - start:.2f} s '
          f'(encode_masks={getattr(dataset, "encode_masks", None)})')

    runs = [
        profile_transforms(dataset, args.num_samples)
        for _ in range(args.repeat)
    ]
    per_stage = {k: min(r[k] for r in runs) for k in runs[0]}
    total = sum(per_stage.values())
    print(f'\nper sample, one process ({args.num_samples} samples, best of '
          f'{args.repeat}):')
    for name, sec in per_stage.items():
        stage = STAGES.get(name, 'other')
        print(f'  {name:18s} {stage:9s} {sec * 1e3:7.3f} ms  '
              f'{100 * sec / total:5.1f} %')
    print(f'  {"total":28s} {total * 1e3:7.3f} ms  '
          f'-> {1 / total:.1f} samples/s')
    by_stage = defaultdict(float)
    for name, sec in per_stage.items():
        by_stage[STAGES.get(name, 'other')] += sec
    print('  by stage: ' + ', '.join(f'{k} {v * 1e3:.2f} ms'
                                     for k, v in by_stage.items()))

    print(f'\nDataLoader, batch size {loader_cfg.batch_size}:')
    for workers in args.workers:
        rate = max(
            measure_loader(loader_cfg, dataset, workers, args.num_samples,
                           args.warmup) for _ in range(args.repeat))
        per_worker = rate / max(workers, 1)
        print(f'  workers {workers}: {rate:7.1f} samples/s '
              f'({per_worker:.1f} per worker)')


if __name__ == '__main__':
    main()
