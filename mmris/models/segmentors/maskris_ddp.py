from typing import Dict

from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from torch import Tensor

from mmris.registry import MODEL_WRAPPERS
from .maskris import MaskRIS


@MODEL_WRAPPERS.register_module()
class MaskRISDistributedDataParallel(MMDistributedDataParallel):
    """DDP wrapper that runs MaskRIS' 'sequential' mode.

    ``MMDistributedDataParallel.train_step`` ignores the wrapped model's
    ``train_step``. This wrapper runs the clean path's forward and backward
    under ``no_sync()`` and the masked path normally, so gradients are
    all-reduced once per step, as in 'concat' mode. Other models (and
    MaskRIS in 'concat' mode) train as with ``MMDistributedDataParallel``.

    Select it with ``model_wrapper_cfg=dict(type=
    'MaskRISDistributedDataParallel')``; the arguments are those of
    ``MMDistributedDataParallel``.
    """

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        module = self.module
        if isinstance(module, MaskRIS) and module.runs_sequential:
            return module.sequential_train_step(
                data, optim_wrapper, model=self, clean_context=self.no_sync)
        return super().train_step(data, optim_wrapper)
