from .checkpoint import CheckpointMismatchError, load_checkpoint_strict
from .config import load_config
from .distributed import setup_cpu_distributed
from .results import dump_results, eval_splits, paper_table, split_table
from .setup_env import register_all_modules

__all__ = [
    'CheckpointMismatchError', 'load_checkpoint_strict', 'load_config',
    'setup_cpu_distributed', 'register_all_modules', 'dump_results',
    'eval_splits', 'paper_table', 'split_table'
]
