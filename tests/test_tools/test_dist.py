"""tools/dist_train.sh and tools/dist_test.sh with 2 gloo processes on the
CPU (torchrun, --launcher pytorch); the slurm scripts' syntax."""
import json
import os.path as osp
import socket

import pytest
import torch

from cli_helpers import CONFIG, data_options, run, run_dir


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


def test_dist_train_two_processes_share_the_data(data_root, tmp_path):
    work_dir = str(tmp_path)
    run([
        'tools/dist_train.sh', CONFIG, '2', '--work-dir', work_dir,
        '--cfg-options', *data_options(data_root), 'train_cfg.max_epochs=1',
        f'val_evaluator.collect_dir={tmp_path}/collect'
    ],
        PORT=_free_port())
    ckpt = torch.load(
        osp.join(work_dir, 'epoch_1.pth'), map_location='cpu',
        weights_only=False)
    # 8 refs, batch 2 per process, 2 processes: 2 iterations per epoch
    assert ckpt['meta']['iter'] == 2
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])
    with open(osp.join(run_dir(work_dir), 'vis_data', 'scalars.json')) as f:
        records = [json.loads(line) for line in f]
    assert [r['iter'] for r in records if 'loss' in r] == [1, 2]
    # validation gathered from both processes: every sentence once
    assert [r['num_sentences'] for r in records if 'oIoU' in r] == [12]


def test_dist_test_equals_single_process_test(tested, trained, data_root,
                                              tmp_path):
    work_dir = str(tmp_path)
    run([
        'tools/dist_test.sh', CONFIG,
        osp.join(trained, 'epoch_2.pth'), '2', '--work-dir', work_dir,
        '--cfg-options', *data_options(data_root),
        'test_evaluator.resolution=original', 'test_dataloader.batch_size=1',
        f'test_evaluator.collect_dir={tmp_path}/collect'
    ],
        PORT=_free_port())
    with open(osp.join(run_dir(work_dir), 'results_testA.json')) as f:
        results = json.load(f)['results']['testA']
    single = tested[2]['results']['testA']
    assert results == single
    assert results['num_sentences'] == 12


@pytest.mark.parametrize('script', [
    'dist_train.sh', 'dist_test.sh', 'slurm_train.sh', 'slurm_test.sh'
])
def test_launch_scripts_are_valid_bash(script):
    run(['bash', '-n', osp.join('tools', script)])
