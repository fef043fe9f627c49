from .atomic_file_backend import AtomicLocalBackend, atomic_write
from .checkpoint_loading import (load_from_local_trusted,
                                 register_trusted_local_loader)
from .hooks import (AtomicCheckpointHook, CheckFiniteLossHook,
                    RISVisualizationHook)
from .optimizers import RISOptimWrapperConstructor

__all__ = [
    'AtomicLocalBackend', 'atomic_write', 'load_from_local_trusted',
    'register_trusted_local_loader', 'AtomicCheckpointHook',
    'CheckFiniteLossHook', 'RISVisualizationHook', 'RISOptimWrapperConstructor'
]
