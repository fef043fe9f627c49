"""tools/train.py through its command line on the tiny test config."""
import glob
import json
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from cli_helpers import (CONFIG, ROOT, TOTAL_ITERS, data_options, run, run_dir,
                      tool_env)


def _scalars(work_dir):
    """The training records of vis_data/scalars.json (one per iteration)."""
    path = osp.join(run_dir(work_dir), 'vis_data', 'scalars.json')
    with open(path) as f:
        records = [json.loads(line) for line in f]
    return [r for r in records if 'loss' in r]


def test_train_writes_checkpoints_log_and_scalars(trained):
    assert osp.isfile(osp.join(trained, 'epoch_2.pth'))
    assert not osp.exists(osp.join(trained, 'epoch_1.pth'))  # max_keep 1
    assert len(glob.glob(osp.join(trained, 'best_oIoU_epoch_*.pth'))) == 1
    with open(osp.join(trained, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(trained, 'epoch_2.pth')
    ckpt = torch.load(
        osp.join(trained, 'epoch_2.pth'), map_location='cpu',
        weights_only=False)
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (2, TOTAL_ITERS)
    # MaskRIS checkpoints hold the segmentor's keys, without a prefix
    assert not any(k.startswith('segmentor.') for k in ckpt['state_dict'])

    log = glob.glob(osp.join(run_dir(trained), '*.log'))[0]
    with open(log) as f:
        text = f.read()
    assert 'Epoch(train) [2][4/4]' in text and 'Epoch(val) [2]' in text
    records = _scalars(trained)
    assert [r['iter'] for r in records] == list(range(1, TOTAL_ITERS + 1))
    for key in ('clean.loss_ce', 'distill.loss_ce', 'lr', 'grad_norm'):
        assert all(key in r for r in records), key


def test_nan_loss_stops_training_naming_the_iteration(data_root, tmp_path):
    work_dir = str(tmp_path)
    proc = run([
        'tools/train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
        *data_options(data_root),
        'model.segmentor.decode_head.loss_decode.loss_weight=nan'
    ],
               check=False)
    assert proc.returncode != 0
    assert 'FloatingPointError: Non-finite loss at iteration 1 (epoch 1, ' \
        'batch 1)' in proc.stderr, proc.stderr[-3000:]
    assert 'clean.loss_ce=nan' in proc.stderr
    assert not glob.glob(osp.join(work_dir, '*.pth'))


def test_resume_after_sigkill_finishes_the_same_iterations(
        data_root, trained, tmp_path):
    work_dir = str(tmp_path)
    cmd = [
        sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir,
        '--cfg-options', *data_options(data_root)
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    # kill -9 as soon as epoch 2 has started (epoch 1 is checkpointed)
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            logs = glob.glob(osp.join(work_dir, '2*', '*.log'))
            if logs and 'Epoch(train) [2][1/4]' in open(logs[0]).read():
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(work_dir, 'epoch_1.pth')
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    assert not glob.glob(osp.join(work_dir, '*.tmp'))
    killed_run = run_dir(work_dir)

    out = run(cmd + ['--resume']).stdout
    assert 'resumed epoch: 1, iter: 4' in out
    resumed = [
        d for d in glob.glob(osp.join(work_dir, '2*')) if d != killed_run
    ]
    with open(osp.join(resumed[0], 'vis_data', 'scalars.json')) as f:
        iters = [json.loads(line)['iter'] for line in f if '"loss"' in line]
    assert iters == list(range(5, TOTAL_ITERS + 1))  # continued, not redone
    final = torch.load(
        osp.join(work_dir, 'epoch_2.pth'), map_location='cpu',
        weights_only=False)['meta']
    uninterrupted = torch.load(
        osp.join(trained, 'epoch_2.pth'), map_location='cpu',
        weights_only=False)['meta']
    assert (final['epoch'], final['iter']) == (uninterrupted['epoch'],
                                               uninterrupted['iter'])


def _train_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_amp_switches_to_the_amp_wrapper_with_a_dynamic_scale():
    from mmengine.config import Config
    enable_amp = _train_tool().enable_amp
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=1.0)  # kept
    enable_amp(cfg)  # already on: unchanged
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    cfg.optim_wrapper.type = 'ApexOptimWrapper'
    with pytest.raises(ValueError, match='ApexOptimWrapper'):
        enable_amp(cfg)
