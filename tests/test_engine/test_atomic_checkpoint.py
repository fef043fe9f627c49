import glob
import os
import os.path as osp
import resource
import subprocess
import sys
from contextlib import contextmanager

import pytest
import torch
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import Hook

from mmris.engine import AtomicLocalBackend, atomic_write


@contextmanager
def max_file_size(num_bytes):
    """Make this process's writes past ``num_bytes`` fail with EFBIG (a
    real partial write, as on a full disk; Python ignores SIGXFSZ)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (num_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_backend_is_selected_by_backend_args(tmp_path):
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put_text('hello', str(tmp_path / 'sub' / 'a.txt'))
    assert backend.get_text(str(tmp_path / 'sub' / 'a.txt')) == 'hello'


def test_failed_write_leaves_previous_file_intact(tmp_path):
    path = str(tmp_path / 'epoch_1.pth')
    atomic_write(b'old' * 10, path)
    with max_file_size(100), pytest.raises(OSError):
        atomic_write(b'new' * 1000, path)
    with open(path, 'rb') as f:
        assert f.read() == b'old' * 10
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # temp file removed
    # the premise: mmengine's plain backend leaves a truncated file
    with max_file_size(100), pytest.raises(OSError):
        LocalBackend().put(b'new' * 1000, path)
    assert osp.getsize(path) == 100


def test_killed_writer_never_leaves_a_partial_file(tmp_path):
    path = str(tmp_path / 'epoch_1.pth')
    atomic_write(b'old', path)
    # the child dies (SIGKILL) after writing the temp file, before the rename
    code = ('import os, signal\n'
            'from mmris.engine.atomic_file_backend import atomic_write\n'
            'os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n'
            f'atomic_write(b"new" * 100000, {path!r})\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    with open(path, 'rb') as f:
        assert f.read() == b'old'
    leftovers = glob.glob(str(tmp_path / '.epoch_1.pth.*.tmp'))
    assert len(leftovers) == 1 and osp.getsize(leftovers[0]) == 300000


class FailSavingAtEpoch(Hook):
    """Makes the checkpoint of epoch ``epoch`` fail mid-write (runs before
    the checkpoint hook, whose priority is VERY_LOW)."""
    priority = 'NORMAL'

    def __init__(self, epoch):
        self.epoch = epoch
        self.limit = None

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            self.limit = max_file_size(64)
            self.limit.__enter__()


def test_failed_save_keeps_last_complete_checkpoint_for_resume(
        make_runner, count_iters):
    fail = FailSavingAtEpoch(3)
    hooks = dict(
        checkpoint=dict(
            type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1))
    runner = make_runner(
        max_epochs=3, default_hooks=hooks, custom_hooks=[fail])
    try:
        with pytest.raises(OSError):
            runner.train()
    finally:
        fail.limit.__exit__(None, None, None)
    work_dir = runner.work_dir
    # mmengine's hook would have deleted epoch_2 before writing epoch_3
    assert sorted(
        glob.glob(f'{work_dir}/*.pth')) == [f'{work_dir}/epoch_2.pth']
    with open(f'{work_dir}/last_checkpoint') as f:
        assert f.read() == f'{work_dir}/epoch_2.pth'
    torch.load(f'{work_dir}/epoch_2.pth', weights_only=False)  # complete

    resumed = make_runner(
        max_epochs=3,
        resume=True,
        default_hooks=hooks,
        custom_hooks=[count_iters])
    resumed.train()
    assert count_iters.count == 4  # epoch 3 only
    assert sorted(
        glob.glob(f'{work_dir}/*.pth')) == [f'{work_dir}/epoch_3.pth']
    with open(f'{work_dir}/last_checkpoint') as f:
        assert f.read() == f'{work_dir}/epoch_3.pth'


def test_best_checkpoint_is_replaced(make_runner):
    hooks = dict(
        checkpoint=dict(
            type='AtomicCheckpointHook', interval=1, save_best='toy/oIoU'))
    runner = make_runner(
        max_epochs=3, default_hooks=hooks, val_scores=[10.0, 30.0, 20.0])
    runner.train()
    best = glob.glob(f'{runner.work_dir}/best_*.pth')
    assert best == [f'{runner.work_dir}/best_toy_oIoU_epoch_2.pth']
    assert runner.message_hub.get_info('best_score') == 30.0
    assert runner.message_hub.get_info('best_ckpt') == best[0]


class FailSavingAfterVal(Hook):
    """Makes the best checkpoint after validation ``count`` fail (runs after
    the LoggerHook, whose writes would fail too, and before the checkpoint
    hook)."""
    priority = 80  # between LOW (70) and VERY_LOW (90)

    def __init__(self, count):
        self.count = count
        self.limit = None

    def after_val_epoch(self, runner, metrics=None):
        self.count -= 1
        if self.count == 0:
            self.limit = max_file_size(64)
            self.limit.__enter__()


def test_failed_best_save_keeps_the_previous_best(make_runner):
    fail = FailSavingAfterVal(2)
    hooks = dict(
        checkpoint=dict(
            type='AtomicCheckpointHook', interval=1, save_best='toy/oIoU'))
    runner = make_runner(
        max_epochs=2,
        default_hooks=hooks,
        val_scores=[10.0, 30.0],
        custom_hooks=[fail])
    try:
        with pytest.raises(OSError):
            runner.train()
    finally:
        fail.limit.__exit__(None, None, None)
    # mmengine's hook removes the old best before writing the new one
    best = f'{runner.work_dir}/best_toy_oIoU_epoch_1.pth'
    assert glob.glob(f'{runner.work_dir}/best_*.pth') == [best]
    torch.load(best, weights_only=False)
