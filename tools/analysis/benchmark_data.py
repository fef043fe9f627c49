"""Throughput of a config's data pipeline, and where its time goes.

Example::

    python tools/analysis/benchmark_data.py \\
        configs/_base_/datasets/refshapes.py --tokenizer <folder>

prints (1) the time to build the dataset, (2) the time per sample of each
transform in one process (decode, mask, resize, tokenise, masking, packing),
(3) samples/s through a DataLoader with each number of workers.

Wall-clock figures depend on what else the machine runs, so each is the best
of ``--repeat`` runs, and CPU time is reported beside it: the CPU seconds the
workers spent per sample give "samples/s per worker" for a worker that has a
core to itself, whatever the load. OpenCV runs single-threaded, as the
Runner sets it (``env_cfg.mp_cfg.opencv_num_threads``, default 0).
"""
import argparse
import os
import time
from collections import defaultdict

import cv2
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
        help='repeat each measurement, keep the best')
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
    """(wall, cpu) seconds per sample of the data info and each transform."""
    wall, cpu = defaultdict(float), defaultdict(float)

    def timed(name, fn, arg):
        w, c = time.perf_counter(), time.process_time()
        out = fn(arg)
        wall[name] += time.perf_counter() - w
        cpu[name] += time.process_time() - c
        return out

    for k in range(num):
        results = timed('data info', dataset.get_data_info, k % len(dataset))
        for t in dataset.pipeline.transforms:
            results = timed(type(t).__name__, t, results)
            if results is None:
                break
    return {k: (wall[k] / num, cpu[k] / num) for k in wall}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def measure_loader(loader_cfg: dict, dataset, workers: int, num: int,
                   warmup: int):
    """(samples/s, worker CPU s/sample, main CPU s/sample) of a DataLoader
    with ``workers`` workers."""
    cfg = dict(loader_cfg)
    cfg.update(
        dataset=dataset,
        num_workers=workers,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True))
    if workers == 0:
        cfg.pop('prefetch_factor', None)
    loader = Runner.build_dataloader(cfg, seed=0)
    it = iter(loader)
    pids = [w.pid for w in getattr(it, '_workers', [])]
    seen, start = 0, None
    while True:
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            pids = [w.pid for w in getattr(it, '_workers', [])]
            continue
        seen += len(batch['inputs'])
        if start is None and seen >= warmup:
            seen = 0
            start = (time.perf_counter(), time.process_time(),
                     sum(map(cpu_seconds, pids)))
        elif start is not None and seen >= num:
            wall = time.perf_counter() - start[0]
            main_cpu = time.process_time() - start[1]
            worker_cpu = sum(map(cpu_seconds, pids)) - start[2]
            del it
            return seen / wall, worker_cpu / seen, main_cpu / seen


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmris'))
    mp_cfg = cfg.get('env_cfg', {}).get('mp_cfg', {})
    cv2.setNumThreads(mp_cfg.get('opencv_num_threads', 0))
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
    per_stage = {
        k: tuple(min(r[k][i] for r in runs) for i in (0, 1))
        for k in runs[0]
    }
    wall = sum(w for w, _ in per_stage.values())
    cpu = sum(c for _, c in per_stage.values())
    print(f'\nper sample, one process ({args.num_samples} samples, best of '
          f'{args.repeat}):')
    print(f'  {"transform":18s} {"stage":9s} {"wall ms":>8s} {"cpu ms":>8s}'
          '  share of cpu')
    by_stage = defaultdict(float)
    for name, (w, c) in per_stage.items():
        stage = STAGES.get(name, 'other')
        by_stage[stage] += c
        print(f'  {name:18s} {stage:9s} {w * 1e3:8.3f} {c * 1e3:8.3f}'
              f'  {100 * c / cpu:5.1f} %')
    print(f'  {"total":28s} {wall * 1e3:8.3f} {cpu * 1e3:8.3f}  -> '
          f'{1 / wall:.1f} samples/s wall, {1 / cpu:.1f} per CPU second')
    print('  cpu by stage: ' + ', '.join(f'{k} {v * 1e3:.2f} ms'
                                         for k, v in by_stage.items()))

    print(f'\nDataLoader, batch size {loader_cfg.batch_size} '
          f'(best of {args.repeat}):')
    for workers in args.workers:
        runs = [
            measure_loader(loader_cfg, dataset, workers, args.num_samples,
                           args.warmup) for _ in range(args.repeat)
        ]
        rate = max(r[0] for r in runs)
        line = f'  workers {workers}: {rate:7.1f} samples/s wall'
        if workers:
            worker_cpu = min(r[1] for r in runs)
            main_cpu = min(r[2] for r in runs)
            line += (f'; worker CPU {worker_cpu * 1e3:.2f} ms/sample -> '
                     f'{1 / worker_cpu:.1f} samples/s per worker; main '
                     f'process CPU {main_cpu * 1e3:.2f} ms/sample')
        print(line)


if __name__ == '__main__':
    main()
