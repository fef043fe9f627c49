"""Fixtures of the command-line tests: a tiny generated dataset, one
trained checkpoint and one test run, shared by the session."""
import json
import os.path as osp

import pytest

from cli_helpers import CONFIG, NUM_IMAGES, data_options, run, run_dir


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
