"""Stop training at once when a loss stops being finite."""
import logging
import math
from typing import Dict, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmris.registry import HOOKS


def _uses_loss_scaler(optim_wrapper) -> bool:
    """Whether (any of) the optimizer wrapper(s) steps through a loss scaler
    (mmengine's ``AmpOptimWrapper``)."""
    wrappers = optim_wrapper.values() if hasattr(optim_wrapper, 'values') \
        else [optim_wrapper]
    return any(getattr(w, 'loss_scaler', None) is not None for w in wrappers)


@HOOKS.register_module()
class CheckFiniteLossHook(Hook):
    """Raise ``FloatingPointError`` as soon as a training loss is NaN/inf.

    The error names the iteration (1-based, as logged), the epoch and batch,
    and every loss key whose value is not finite. The hook runs after the
    optimizer step of that iteration (hooks cannot see the loss before it)
    but before any checkpoint of it is written (``CheckpointHook`` has a
    lower priority), so the last checkpoint on disk is clean: resume from it
    with ``--resume`` after fixing the cause.

    Mixed precision: with a loss scaler (``AmpOptimWrapper``), an overflow
    of the scaled *gradients* (finite loss) is handled by the scaler as usual
    and never reaches this hook. A non-finite *loss* makes every gradient
    non-finite, so the scaler skips that update too and the weights stay
    intact; a transient fp16 overflow in the forward pass is therefore
    tolerated for up to ``amp_patience`` consecutive checks (logged as a
    warning), and only a persistent one raises. Without a loss scaler the
    update has already written NaN/inf into the weights, so the hook raises
    at the first non-finite loss.

    Cost: the check reads the (0-d) loss tensors once per checked iteration,
    one host-device sync. mmengine's ``RuntimeInfoHook`` already calls
    ``.item()`` on every logged value each iteration, so with ``interval=1``
    (default) this adds no stall in practice; a larger ``interval`` only
    matters if that changes, at the price of detecting the first non-finite
    iteration up to ``interval - 1`` iterations late (the weights, then NaN,
    keep every later loss non-finite, so it is still caught).

    Args:
        interval (int): Check every ``interval`` training iterations.
            Defaults to 1.
        loss_keys (Sequence[str], optional): Output keys to check. Defaults
            to None: every key containing ``'loss'`` (those mmengine sums
            into the total loss, and ``loss`` itself).
        amp_patience (int): Consecutive non-finite checks tolerated when a
            loss scaler skips the updates. Defaults to 5.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 interval: int = 1,
                 loss_keys: Optional[Sequence[str]] = None,
                 amp_patience: int = 5) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError('CheckFiniteLossHook: interval must be an int '
                             f'>= 1, got {interval!r}.')
        if not isinstance(amp_patience, int) or amp_patience < 0:
            raise ValueError('CheckFiniteLossHook: amp_patience must be an '
                             f'int >= 0, got {amp_patience!r}.')
        self.interval = interval
        self.loss_keys = None if loss_keys is None else list(loss_keys)
        self.amp_patience = amp_patience
        self._amp_skips = 0

    def _losses(self, outputs: dict) -> Dict[str, object]:
        if self.loss_keys is None:
            return {k: v for k, v in outputs.items() if 'loss' in k}
        missing = [k for k in self.loss_keys if k not in outputs]
        if missing:
            raise KeyError(f'CheckFiniteLossHook: loss_keys {missing} are not '
                           f'in the training outputs {list(outputs)}.')
        return {k: outputs[k] for k in self.loss_keys}

    @staticmethod
    def _non_finite(losses: Dict[str, object]) -> Dict[str, float]:
        """Return the non-finite entries of ``losses`` as floats."""
        tensors = {
            k: v.detach().float().reshape(-1)
            for k, v in losses.items() if isinstance(v, torch.Tensor)
        }
        if tensors:
            flat = torch.cat(list(tensors.values()))
            if bool(torch.isfinite(flat).all()):  # the one device sync
                tensors = {}
        bad = {
            k: float(v.sum())
            for k, v in tensors.items() if not torch.isfinite(v).all()
        }
        for k, v in losses.items():
            if not isinstance(v, torch.Tensor) and not math.isfinite(v):
                bad[k] = float(v)
        return bad

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Check the losses of this iteration every ``interval`` iterations.

        Args:
            runner (Runner): The runner of the training process.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict, optional): The batch (unused).
            outputs (dict, optional): The model's log variables.
        """
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        bad = self._non_finite(self._losses(outputs))
        if not bad:
            self._amp_skips = 0
            return
        where = (f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}, '
                 f'batch {batch_idx + 1})')
        values = ', '.join(f'{k}={v}' for k, v in bad.items())
        if _uses_loss_scaler(runner.optim_wrapper):
            self._amp_skips += 1
            if self._amp_skips <= self.amp_patience:
                print_log(
                    f'Non-finite loss at {where}: {values}. The loss scaler '
                    f'skips this update ({self._amp_skips}/'
                    f'{self.amp_patience} tolerated in a row).',
                    logger='current',
                    level=logging.WARNING)
                return
            raise FloatingPointError(
                f'Non-finite loss at {where}: {values}, for '
                f'{self._amp_skips} checks in a row under mixed precision '
                f'(amp_patience={self.amp_patience}). Training stopped; the '
                'forward pass overflows persistently (consider bf16 or '
                'fp32 for the failing module, or a lower learning rate).')
        raise FloatingPointError(
            f'Non-finite loss at {where}: {values}. Training stopped before '
            'saving this iteration: its update has made the weights '
            'non-finite. Resume from the last checkpoint (--resume) after '
            'fixing the cause (learning rate, data, gradient clipping).')
