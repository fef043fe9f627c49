from .atomic_checkpoint_hook import AtomicCheckpointHook
from .check_finite_loss_hook import CheckFiniteLossHook
from .ris_visualization_hook import RISVisualizationHook

__all__ = [
    'AtomicCheckpointHook', 'CheckFiniteLossHook', 'RISVisualizationHook'
]
