"""Helpers of the command-line tests: the test config, tool runner, data
options (imported by the test modules; the fixtures are in conftest.py)."""
import glob
import os
import os.path as osp
import subprocess
import sys


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
