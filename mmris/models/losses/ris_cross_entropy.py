from typing import Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from mmris.registry import MODELS


@MODELS.register_module()
class RISCrossEntropyLoss(nn.Module):
    """Class-weighted cross entropy with hard or soft targets.

    It follows PyTorch's reduction rules, which is what the MaskRIS/CARIS
    recipe uses:

    - hard targets ``[B, H, W]`` (long): weighted mean, divided by the sum of
      the true classes' weights;
    - soft targets ``[B, C, H, W]`` (probabilities): ``-sum_c w_c p_c log q_c``
      averaged over pixels (divided by the pixel count).

    mmseg's ``CrossEntropyLoss`` divides by the pixel count in both cases,
    hence this class.

    Args:
        class_weight (Sequence[float], optional): Weight of each class.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Key of the loss in the losses dict; it must start
            with ``loss_`` to be back-propagated. Defaults to 'loss_ce'.
    """

    def __init__(self,
                 class_weight: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce'):
        super().__init__()
        self.class_weight = list(class_weight) if class_weight else None
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        weight = None
        if self.class_weight is not None:
            weight = pred.new_tensor(self.class_weight)
        if target.dtype.is_floating_point:
            loss = F.cross_entropy(pred, target.to(pred.dtype), weight=weight)
        else:
            loss = F.cross_entropy(
                pred, target, weight=weight, ignore_index=ignore_index)
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def extra_repr(self) -> str:
        return (f'class_weight={self.class_weight}, '
                f'loss_weight={self.loss_weight}, '
                f'loss_name={self._loss_name!r}')
