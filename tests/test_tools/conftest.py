"""Shared fixtures of the command-line tests: a tiny generated dataset, a
runner of the tools, one trained checkpoint and one test run."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = 'configs/maskris_tiny_refshapes_test.py'
#: Images per split of the tiny RefShapes set (2 refs, 6 sentences each).
NUM_IMAGES = dict(train=4, val=2, testA=2, testB=2)
#: Iterations of a training run of CONFIG on it: 2 epochs x 8 refs / 2.
TOTAL_ITERS = 8


def data_options(root):
    """--cfg-options entries pointing CONFIG's dataloaders at ``root``."""
    return [
        f'{loader}.dataset.data_root={root}/'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
    ]


def tool_env(**extra):
    """Environment of the tools: offline HF, one thread per process (the
    same for 1 and 2 processes, so their numbers are comparable)."""
    return {
        **os.environ, 'HF_HUB_OFFLINE': '1',
        'OMP_NUM_THREADS': '1',
        'PYTHON': sys.executable,
        **extra
    }


def run(args, check=True, timeout=300, **env):
    """Run a command in the repository root; ``.py`` files with the venv's
    python, ``.sh`` files with bash."""
    cmd = list(args)
    if cmd[0].endswith('.py'):
        cmd = [sys.executable] + cmd
    elif cmd[0].endswith('.sh'):
        cmd = ['bash'] + cmd
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=tool_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


def run_dir(work_dir):
    """The (single) ``<timestamp>`` folder of a run in ``work_dir``."""
    dirs = [
        d for d in glob.glob(osp.join(work_dir, '2*')) if osp.isdir(d)
    ]
    assert len(dirs) == 1, dirs
    return dirs[0]


@pytest.fixture(scope='session')
def data_root(tmp_path_factory):
    from mmris.datasets.refshapes import generate_refshapes
    root = str(tmp_path_factory.mktemp('refshapes'))
    generate_refshapes(
        root, num_images=NUM_IMAGES, level='easy', width=64, height=48,
        seed=0)
    return root


@pytest.fixture(scope='session')
def trained(data_root, tmp_path_factory):
    """``tools/train.py CONFIG`` run once: its work_dir."""
    work_dir = str(tmp_path_factory.mktemp('train'))
    run(['tools/train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
         *data_options(data_root)])
    return work_dir


@pytest.fixture(scope='session')
def tested(data_root, trained, tmp_path_factory):
    """``tools/test.py CONFIG epoch_2.pth`` run once on testA at the
    original resolution, with --out and --show-dir: (work_dir, stdout,
    results JSON)."""
    work_dir = str(tmp_path_factory.mktemp('test'))
    proc = run([
        'tools/test.py', CONFIG,
        osp.join(trained, 'epoch_2.pth'), '--work-dir', work_dir, '--out',
        osp.join(work_dir, 'preds'), '--show-dir', 'shown', '--cfg-options',
        *data_options(data_root), 'test_evaluator.resolution=original',
        'test_dataloader.batch_size=1',
        'default_hooks.visualization.interval=1'
    ])
    with open(osp.join(run_dir(work_dir), 'results_testA.json')) as f:
        results = json.load(f)
    return work_dir, proc.stdout + proc.stderr, results
