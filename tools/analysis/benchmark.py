"""Seconds per training step, peak memory and inference time of a RIS
config: plain training, MaskRIS 'concat' and MaskRIS 'sequential'.

Example::

    python tools/analysis/benchmark.py configs/_base_/models/caris_swinb.py \\
        --batch-size 2 --img-size 448 --iters 5 --warmup 2 --threads 2

In one run, on the same seeded random batch (images, ground-truth masks,
word pieces, MaskRIS patch and text masks made by the real transforms), it
measures for each mode, in a fresh (spawned) process so that peak memory is
the mode's own:

- ``plain``: the RIS segmentor alone (MaskRIS off);
- ``concat`` / ``sequential``: the segmentor wrapped in ``MaskRIS``;
- ``inference``: ``test_step`` of the segmentor on one image.

Training runs the real ``model.train_step(data, optim_wrapper)`` (data
preprocessor, forward, loss, backward, clip, AdamW step) with the optim
wrapper built by the project's constructor from the config's
``optim_wrapper`` (or ``--optim-config``). Times are medians of ``--iters``
steps after ``--warmup`` steps. Memory is the peak RSS of the process
(``ru_maxrss``) on the CPU, ``torch.cuda.max_memory_allocated`` on a GPU;
``+train`` is the part above the built model (activations, gradients,
optimizer state). All processes start from the same seed, so every mode
trains the same initial weights on the same data.

A text encoder with ``pretrained`` set is built with random weights from
that model's config (or bert-base's shape, ``BertConfig()``, when the name
cannot be resolved offline); ``--pretrained-text`` loads it instead.
Backbone checkpoints are not loaded. Neither changes the timings.
"""
import argparse
import copy
import json
import os
import platform
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
from mmengine.config import Config, DictAction

MODES = ('plain', 'concat', 'sequential')
DEFAULT_OPTIM_CONFIG = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', 'configs',
    '_base_', 'schedules', 'schedule_50e.py')
#: Ordinary word pieces of the BERT uncased vocabulary.
WORD_ID_RANGE = (1996, 29600)
CLS_ID, SEP_ID = 101, 102


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark training steps (plain / MaskRIS concat / '
        'MaskRIS sequential) and inference of a RIS model config')
    parser.add_argument('config', help='config file (a RIS segmentor or a '
                        'MaskRIS model)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--img-size', type=int, default=448,
                        help='square network input size')
    parser.add_argument('--num-tokens', type=int, default=20,
                        help='word pieces per sentence (max_length)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda[:i]')
    parser.add_argument('--amp', action='store_true',
                        help='AmpOptimWrapper (fp16 autocast; GPU only)')
    parser.add_argument('--iters', type=int, default=5,
                        help='timed steps per mode (median)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps before timing')
    parser.add_argument('--infer-iters', type=int, default=10,
                        help='timed inference images (median)')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch.set_num_threads of every process')
    parser.add_argument('--modes', nargs='+', default=list(MODES),
                        choices=list(MODES) + ['inference'],
                        help='what to measure (default: all + inference)')
    parser.add_argument('--no-inference', action='store_true')
    parser.add_argument('--patch-size', type=int, default=32,
                        help='RandomPatchMask patch size')
    parser.add_argument('--keep-ratio', type=float, default=0.25,
                        help='RandomPatchMask keep ratio')
    parser.add_argument('--pretrained-text', action='store_true',
                        help='load the text encoder\'s pretrained weights')
    parser.add_argument(
        '--optim-config',
        default=DEFAULT_OPTIM_CONFIG,
        help='config with `optim_wrapper`, used when CONFIG has none '
        '(default: configs/_base_/schedules/schedule_50e.py)')
    parser.add_argument(
        '--malloc-keep',
        action='store_true',
        help='run the measured processes with glibc malloc keeping freed '
        'memory for reuse (MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_=64 '
        'GiB): fewer page faults on large CPU activations; can raise RSS')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--profile', type=int, default=0, metavar='N',
                        help='also profile one step per mode (after the '
                        'timed ones) and print the N ops with most self time')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    args = parser.parse_args(argv)
    for name in ('batch_size', 'img_size', 'num_tokens', 'iters', 'threads',
                 'infer_iters', 'patch_size'):
        if getattr(args, name) < 1:
            raise SystemExit(f'--{name.replace("_", "-")} must be >= 1, got '
                             f'{getattr(args, name)}')
    if args.warmup < 0:
        raise SystemExit(f'--warmup must be >= 0, got {args.warmup}')
    if args.num_tokens < 3:
        raise SystemExit('--num-tokens must be >= 3 ([CLS] word [SEP]), got '
                         f'{args.num_tokens}')
    if args.amp and not args.device.startswith('cuda'):
        raise SystemExit('--amp uses mmengine\'s AmpOptimWrapper, which '
                         f'needs a GPU; got --device {args.device}')
    return args


# ---------------------------------------------------------------- configs
def split_model_cfg(model_cfg: dict):
    """``(segmentor config, MaskRIS kwargs)`` of a segmentor or MaskRIS
    model config."""
    model_cfg = copy.deepcopy(model_cfg)
    if model_cfg.get('type') in ('MaskRIS', 'mmris.MaskRIS'):
        segmentor = model_cfg.pop('segmentor')
        model_cfg.pop('type')
        model_cfg.pop('mode', None)
        if 'data_preprocessor' in model_cfg:
            segmentor['data_preprocessor'] = model_cfg.pop('data_preprocessor')
        if not (model_cfg.get('mask_image', True)
                or model_cfg.get('mask_text', True)):
            raise SystemExit('benchmark: the config\'s MaskRIS has both '
                             'masks off; nothing to compare.')
        return segmentor, model_cfg
    for key in ('backbone', 'text_encoder', 'decode_head'):
        if key not in model_cfg:
            raise SystemExit(
                f'benchmark: model config of type {model_cfg.get("type")!r}'
                f' has no `{key}`; expected a RIS segmentor (backbone, '
                'text_encoder, decode_head) or a MaskRIS wrapper.')
    return model_cfg, {}


def mode_model_cfg(segmentor: dict, maskris_kwargs: dict, mode: str) -> dict:
    """Model config of a benchmark mode."""
    if mode in ('plain', 'inference'):
        return copy.deepcopy(segmentor)
    return dict(
        type='MaskRIS',
        segmentor=copy.deepcopy(segmentor),
        mode=mode,
        **copy.deepcopy(maskris_kwargs))


def random_text_encoder(text_cfg: dict) -> str:
    """Make a ``pretrained`` HFTextEncoder config build random weights of
    the same shape; returns a description."""
    name = text_cfg.get('pretrained')
    if not name:
        return 'random init from its config'
    from transformers import AutoConfig, BertConfig
    try:
        hf_cfg = AutoConfig.from_pretrained(name)
        source = f'random weights, shape of {name}'
    except (OSError, ValueError):
        if 'bert-base' not in str(name):
            raise SystemExit(
                f'benchmark: cannot read the config of text encoder {name!r}'
                ' offline; pass --pretrained-text with a reachable model or '
                'set model...text_encoder.config via --cfg-options.')
        hf_cfg = BertConfig()
        source = f'random weights, BertConfig() (bert-base) for {name}'
    fields = ('vocab_size', 'hidden_size', 'num_hidden_layers',
              'num_attention_heads', 'intermediate_size',
              'max_position_embeddings', 'type_vocab_size')
    config = dict(model_type=hf_cfg.model_type)
    config.update({k: getattr(hf_cfg, k) for k in fields
                   if hasattr(hf_cfg, k)})
    config.update(text_cfg.get('config') or {})
    text_cfg['pretrained'] = None
    text_cfg['config'] = config
    return source


def prepare_segmentor_cfg(segmentor: dict, args) -> str:
    """No checkpoints: random text encoder (unless --pretrained-text), no
    backbone checkpoint. Returns a description of the text encoder."""
    backbone = segmentor['backbone']
    init_cfg = backbone.get('init_cfg')
    if isinstance(init_cfg, dict) and 'Pretrained' in init_cfg.get(
            'type', ''):
        backbone['init_cfg'] = None
    text_cfg = segmentor['text_encoder']
    if args.pretrained_text:
        return f'pretrained {text_cfg.get("pretrained")}'
    return random_text_encoder(text_cfg)


# ------------------------------------------------------------------- data
def make_batch(batch_size: int, img_size: int, num_tokens: int, seed: int,
               patch_size: int, keep_ratio: float, masked: bool) -> dict:
    """A seeded random batch as the dataloader gives it, through the real
    masking and packing transforms."""
    from mmris.datasets.transforms import (PackRISInputs, RandomPatchMask,
                                           RandomTextMask)
    rng = np.random.RandomState(seed)
    np.random.seed(seed)  # the masking transforms draw from numpy
    transforms = [RandomPatchMask(patch_size, keep_ratio),
                  RandomTextMask()] if masked else []
    pack = PackRISInputs()
    inputs, samples = [], []
    for i in range(batch_size):
        img = rng.randint(0, 256, (img_size, img_size, 3), dtype=np.uint8)
        gt = np.zeros((img_size, img_size), dtype=np.uint8)
        y0, x0 = rng.randint(0, img_size // 2, 2)
        y1, x1 = rng.randint(img_size // 2, img_size + 1, 2)
        gt[y0:y1, x0:x1] = 1
        length = rng.randint(3, num_tokens + 1)
        ids = np.zeros(num_tokens, dtype=np.int64)
        ids[:length] = rng.randint(*WORD_ID_RANGE, length)
        ids[0], ids[length - 1] = CLS_ID, SEP_ID
        results = dict(
            img=img,
            gt_seg_map=gt,
            input_ids=ids,
            attention_mask=(ids != 0).astype(np.int64),
            img_shape=(img_size, img_size),
            ori_shape=(img_size, img_size),
            text=f'random sentence {i}',
            ref_id=i,
            sent_id=i)
        for t in transforms:
            results = t(results)
        packed = pack(results)
        inputs.append(packed['inputs'])
        samples.append(packed['data_samples'])
    return dict(inputs=inputs, data_samples=samples)


# ---------------------------------------------------------------- workers
def _rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def _peak_rss_bytes() -> int:
    # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _setup(job: dict):
    import torch
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    torch.set_num_threads(job['threads'])
    # no per-parameter init report from init_weights
    if not MMLogger.check_instance_created('mmris_benchmark'):
        MMLogger.get_instance('mmris_benchmark', log_level='WARNING')
    init_default_scope('mmris')
    torch.manual_seed(job['seed'])
    np.random.seed(job['seed'])
    return torch


def _build(job: dict):
    """The mode's model on its device, weights from the job's seed."""
    from mmris.registry import MODELS
    model = MODELS.build(job['model'])
    model.init_weights()
    return model.to(job['device'])


def _sync(torch, device: str):
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)


def _mem_now(torch, device: str) -> int:
    if device.startswith('cuda'):
        return torch.cuda.memory_allocated(device)
    return _rss_bytes()


def _mem_peak(torch, device: str) -> int:
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated(device)
    return _peak_rss_bytes()


def _profile(torch, fn, top: int) -> str:
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        fn()
    sort = 'self_cuda_time_total' if len(activities) > 1 else \
        'self_cpu_time_total'
    return prof.key_averages().table(sort_by=sort, row_limit=top)


def run_training(job: dict) -> dict:
    """Time ``train_step`` of one mode (runs in its own process)."""
    torch = _setup(job)
    from mmengine.optim import build_optim_wrapper
    device = job['device']
    model = _build(job)
    model.train()
    optim_wrapper = build_optim_wrapper(model, job['optim_wrapper'])
    data = job['data']
    _sync(torch, device)
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats(device)
    mem_model = _mem_now(torch, device)
    times, cpu_times, losses = [], [], []
    for i in range(job['warmup'] + job['iters']):
        _sync(torch, device)
        start, cpu_start = time.perf_counter(), time.process_time()
        log_vars = model.train_step(data, optim_wrapper)
        _sync(torch, device)
        if i >= job['warmup']:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
        # read after the clock stopped, as the logger does
        losses.append(float(log_vars['loss'].detach()))
    result = dict(
        times=times,
        cpu_times=cpu_times,
        mem_model=mem_model,
        mem_peak=_mem_peak(torch, device),
        losses=losses,
        load=os.getloadavg()[0])
    if job['profile']:
        result['profile'] = _profile(
            torch, lambda: model.train_step(data, optim_wrapper),
            job['profile'])
    return result


def run_inference(job: dict) -> dict:
    """Time ``test_step`` of the segmentor on one image per call."""
    torch = _setup(job)
    device = job['device']
    model = _build(job)
    model.eval()
    data = job['data']
    _sync(torch, device)
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats(device)
    mem_model = _mem_now(torch, device)
    times, cpu_times = [], []
    with torch.no_grad():
        for i in range(job['warmup'] + job['iters']):
            _sync(torch, device)
            start, cpu_start = time.perf_counter(), time.process_time()
            model.test_step(data)
            _sync(torch, device)
            if i >= job['warmup']:
                times.append(time.perf_counter() - start)
                cpu_times.append(time.process_time() - cpu_start)
        result = dict(
            times=times,
            cpu_times=cpu_times,
            mem_model=mem_model,
            mem_peak=_mem_peak(torch, device),
            load=os.getloadavg()[0])
        if job['profile']:
            result['profile'] = _profile(torch, lambda: model.test_step(data),
                                         job['profile'])
    return result


def run_job(job: dict) -> dict:
    """Entry point of a spawned process."""
    if job['mode'] == 'inference':
        return run_inference(job)
    return run_training(job)


def run_isolated(job: dict) -> dict:
    """Run ``job`` in a fresh spawned process (own peak memory)."""
    with ProcessPoolExecutor(
            max_workers=1, mp_context=get_context('spawn')) as pool:
        return pool.submit(run_job, job).result()


# ----------------------------------------------------------------- report
def _gib(n: int) -> str:
    return f'{n / 2**30:.2f} GiB'


def cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def device_name(device: str) -> str:
    if device.startswith('cuda'):
        import torch
        return torch.cuda.get_device_name(device)
    return cpu_name()


def summarize(results: dict) -> dict:
    """Medians, ranges and ratios to the plain step."""
    summary = {}
    for mode, res in results.items():
        times = res['times']
        summary[mode] = dict(
            median_s=statistics.median(times),
            min_s=min(times),
            max_s=max(times),
            cpu_s=statistics.median(res['cpu_times']),
            mem_peak=res['mem_peak'],
            mem_extra=res['mem_peak'] - res['mem_model'],
            load=res['load'])
    plain = summary.get('plain')
    if plain:
        for mode in ('concat', 'sequential'):
            if mode in summary:
                s = summary[mode]
                s['time_ratio'] = s['median_s'] / plain['median_s']
                s['mem_ratio'] = s['mem_peak'] / plain['mem_peak']
                s['extra_ratio'] = s['mem_extra'] / max(plain['mem_extra'], 1)
    return summary


def format_table(summary: dict, header: str, device: str) -> str:
    mem = 'CUDA max allocated' if device.startswith('cuda') else 'peak RSS'
    lines = [header, '']
    row = '{:<11} {:>8} {:>15} {:>8} {:>10} {:>10} {:>11} {:>5}'
    lines.append(
        row.format('mode', 's/step', 'range', 'cpu s', mem[:10], '+train',
                   'x plain t/m', 'load'))
    for mode in MODES:
        if mode not in summary:
            continue
        s = summary[mode]
        ratio = '' if 'time_ratio' not in s else \
            f'{s["time_ratio"]:.2f}/{s["mem_ratio"]:.2f}'
        lines.append(
            row.format(mode, f'{s["median_s"]:.3f}',
                       f'{s["min_s"]:.3f}-{s["max_s"]:.3f}',
                       f'{s["cpu_s"]:.2f}', _gib(s['mem_peak']), _gib(s['mem_extra']), ratio,
                       f'{s["load"]:.1f}'))
    if 'inference' in summary:
        s = summary['inference']
        lines.append(
            f'inference (batch 1): {s["median_s"]:.3f} s/img '
            f'(range {s["min_s"]:.3f}-{s["max_s"]:.3f}, cpu '
            f'{s["cpu_s"]:.2f} s), {mem} '
            f'{_gib(s["mem_peak"])}, load {s["load"]:.1f}')
    lines.append(f's/step: median wall time; cpu s: median CPU time of the '
                 f'process (all threads); {mem}: of the whole process; '
                 '+train: above the built model (activations, gradients, '
                 'optimizer state); x plain t/m: ratio of s/step / memory '
                 'to the plain step; load: 1-min load average at the end.')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    segmentor, maskris_kwargs = split_model_cfg(cfg.model.to_dict())
    text_desc = prepare_segmentor_cfg(segmentor, args)
    if 'optim_wrapper' in cfg:
        optim_cfg = cfg.optim_wrapper.to_dict()
    else:
        optim_cfg = Config.fromfile(args.optim_config).optim_wrapper.to_dict()
    if args.amp:
        optim_cfg['type'] = 'AmpOptimWrapper'
    optim_cfg.setdefault('constructor', 'RISOptimWrapperConstructor')

    if args.malloc_keep:
        # read by glibc when the spawned processes start
        os.environ.update(MALLOC_MMAP_MAX_='0',
                          MALLOC_TRIM_THRESHOLD_=str(64 * 2**30))
    from mmengine.registry import init_default_scope
    init_default_scope('mmris')
    modes = list(dict.fromkeys(args.modes))
    if args.no_inference and 'inference' in modes:
        modes.remove('inference')
    elif not args.no_inference and 'inference' not in modes:
        modes.append('inference')
    data = dict(
        train=make_batch(args.batch_size, args.img_size, args.num_tokens,
                         args.seed, args.patch_size, args.keep_ratio, True),
        test=make_batch(1, args.img_size, args.num_tokens, args.seed,
                        args.patch_size, args.keep_ratio, False))

    precision = 'AMP (fp16 autocast)' if args.amp else 'fp32'
    header = (f'{args.config} | {device_name(args.device)} '
              f'({args.device}, {args.threads} threads) | batch '
              f'{args.batch_size}, {args.img_size}x{args.img_size}, '
              f'{args.num_tokens} tokens | {precision}'
              f'{" | malloc-keep" if args.malloc_keep else ""} | median of '
              f'{args.iters} after {args.warmup} warm-up | text encoder: '
              f'{text_desc}')
    print(header, flush=True)
    busy = os.getloadavg()[0]
    if not args.device.startswith('cuda') and \
            busy > max(os.cpu_count() - args.threads, 0) + 0.5:
        print(f'WARNING: load average {busy:.1f} leaves fewer than '
              f'{args.threads} of {os.cpu_count()} cores free: other '
              'processes compete for the CPU; wall times (multi-thread '
              'runs especially) will be inflated and noisy.', flush=True)
    results = {}
    for mode in modes:
        inference = mode == 'inference'
        job = dict(
            mode=mode,
            model=mode_model_cfg(segmentor, maskris_kwargs, mode),
            optim_wrapper=optim_cfg,
            data=data['test' if inference else 'train'],
            device=args.device,
            threads=args.threads,
            seed=args.seed,
            warmup=args.warmup,
            iters=args.infer_iters if inference else args.iters,
            profile=args.profile)
        print(f'[{time.strftime("%H:%M:%S")}] {mode}: load '
              f'{os.getloadavg()[0]:.1f} ...', flush=True)
        results[mode] = run_isolated(job)
        times = results[mode]['times']
        print(f'  {statistics.median(times):.3f} s '
              f'({", ".join(f"{t:.3f}" for t in times)})', flush=True)
        if 'profile' in results[mode]:
            print(results[mode]['profile'], flush=True)
    summary = summarize(results)
    print()
    print(format_table(summary, header, args.device))
    if args.out:
        for mode, res in results.items():
            summary[mode]['times'] = res['times']
            summary[mode]['losses'] = res.get('losses')
        with open(args.out, 'w') as f:
            json.dump(
                dict(header=header, args=vars(args), results=summary),
                f,
                indent=2)
    return summary


if __name__ == '__main__':
    sys.exit(main() and 0)
