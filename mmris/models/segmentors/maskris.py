import copy
import logging
from collections import OrderedDict
from contextlib import nullcontext
from typing import Callable, Dict, Optional

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList
from torch import Tensor, nn

from mmris.registry import MODELS
from .ris_segmentor import RISInputs

#: Keys of a view, i.e. of what a RIS segmentor reads from its inputs.
VIEW_KEYS = ('imgs', 'input_ids', 'attention_mask')


@MODELS.register_module()
class MaskRIS(BaseModel):
    """MaskRIS training (image + text masking with distortion-aware
    contextual learning, DCL) around any RIS segmentor.

    `MaskRIS <https://arxiv.org/abs/2411.19067>`_. One training step runs
    the same model on two views and takes one optimizer step on

    ``clean_weight * L_seg(clean logits, GT)
    + distill_weight * L_distill(masked logits, softmax(clean logits).detach())
    + masked_gt_weight * L_seg(masked logits, GT)``

    where the clean view is (``imgs``, ``input_ids``) and the masked view is
    (``masked_imgs``, ``masked_input_ids``) with the same attention mask.
    ``L_seg`` is the segmentor's own loss (logits upsampled to the GT size);
    ``L_distill`` compares logits and soft targets at the head resolution.
    The teacher is the train-mode model itself (no EMA). At test time this
    is exactly the wrapped segmentor.

    Execution modes (same gradients for batch-independent models, i.e. no
    BatchNorm in train mode and no dropout randomness):

    - ``'concat'``: both views in one forward of a 2B batch; works with
      plain ``MMDistributedDataParallel``.
    - ``'sequential'``: clean forward + backward, then masked forward +
      backward, one optimizer step; peak memory of one view. Under DDP use
      ``model_wrapper_cfg=dict(type='MaskRISDistributedDataParallel')``.

    State dicts have exactly the wrapped segmentor's keys (no
    ``segmentor.`` prefix), so checkpoints of ``MaskRIS`` and of the plain
    segmentor load into each other; keys with the prefix load too.

    Args:
        segmentor (dict): Config of the RIS segmentor (e.g. RISSegmentor).
        mode (str): 'concat' or 'sequential'. Defaults to 'concat'.
        clean_weight (float): Weight of the clean-path loss. Defaults to 0.5.
        distill_weight (float): Weight of the distillation loss.
            Defaults to 0.5.
        masked_gt_weight (float): Weight of an extra GT loss on the masked
            path (not in the paper). Defaults to 0 (off).
        mask_image (bool): Use ``masked_imgs`` in the masked view (else the
            clean image). Defaults to True.
        mask_text (bool): Use ``masked_input_ids`` in the masked view (else
            the clean ids). Defaults to True. With both masks off there is
            no masked view: training is exactly the segmentor's (the loss
            weights are unused).
        loss_distill (dict): Soft-target loss. Defaults to class-weighted
            CE, ``RISCrossEntropyLoss(class_weight=[0.9, 1.1])``.
        data_preprocessor (dict, optional): Given to the segmentor when its
            config has none (an equal one there is accepted too). The
            wrapper uses the segmentor's preprocessor.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 segmentor: ConfigType,
                 mode: str = 'concat',
                 clean_weight: float = 0.5,
                 distill_weight: float = 0.5,
                 masked_gt_weight: float = 0.0,
                 mask_image: bool = True,
                 mask_text: bool = True,
                 loss_distill: ConfigType = dict(
                     type='RISCrossEntropyLoss', class_weight=[0.9, 1.1]),
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        if mode not in ('concat', 'sequential'):
            raise ValueError("MaskRIS: mode must be 'concat' or "
                             f"'sequential', got {mode!r}.")
        segmentor = copy.deepcopy(segmentor)
        if data_preprocessor is not None:
            # mmseg-style configs also give it at the top level, which the
            # Runner passes here: the same one twice is fine
            own = segmentor.get('data_preprocessor')
            if own is not None and own != data_preprocessor:
                raise ValueError(
                    'MaskRIS: different data_preprocessors are given to '
                    f'MaskRIS ({dict(data_preprocessor)}) and in its '
                    f'segmentor config ({dict(own)}); keep one.')
            segmentor['data_preprocessor'] = data_preprocessor
        segmentor = MODELS.build(segmentor)
        super().__init__(
            data_preprocessor=segmentor.data_preprocessor, init_cfg=init_cfg)
        self.segmentor = segmentor
        self.mode = mode
        self.clean_weight = clean_weight
        self.distill_weight = distill_weight
        self.masked_gt_weight = masked_gt_weight
        self.mask_image = mask_image
        self.mask_text = mask_text
        self.loss_distill = MODELS.build(loss_distill)
        self._warned_one_graph = False
        if not self.with_masking:
            print_log(
                'MaskRIS: mask_image and mask_text are both False: training '
                'is the plain segmentor\'s (loss weights unused).',
                logger='current')
        self.register_state_dict_post_hook(_strip_segmentor_prefix)
        self.register_load_state_dict_pre_hook(_add_segmentor_prefix)

    @property
    def with_masking(self) -> bool:
        """Whether a masked view (and DCL) is used."""
        return self.mask_image or self.mask_text

    @property
    def runs_sequential(self) -> bool:
        """Whether ``train_step`` runs the two paths one after the other."""
        return self.mode == 'sequential' and self.with_masking

    def forward(self,
                inputs: RISInputs,
                data_samples: Optional[SampleList] = None,
                mode: str = 'tensor',
                soft_targets: Optional[Tensor] = None):
        """Modes of mmengine ('loss', 'predict', 'tensor') and the two
        paths of the sequential step ('clean_loss', 'masked_loss').

        'clean_loss' returns ``(losses, soft_targets)``; 'masked_loss' needs
        ``soft_targets``. They run through ``forward`` so that a DDP wrapper
        sees both forwards.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.segmentor.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.segmentor._forward(inputs, data_samples)
        if mode == 'clean_loss':
            logits = self.segmentor._forward(self.clean_view(inputs))
            return (self._clean_losses(logits, data_samples),
                    self._soft_targets(logits))
        if mode == 'masked_loss':
            if soft_targets is None:
                raise ValueError("MaskRIS: mode='masked_loss' needs the "
                                 'soft_targets of the clean path.')
            logits = self.segmentor._forward(self.masked_view(inputs))
            return self._masked_losses(logits, soft_targets, data_samples)
        raise RuntimeError(f'MaskRIS: invalid mode {mode!r}; expected loss, '
                           'predict, tensor, clean_loss or masked_loss.')

    def clean_view(self, inputs: RISInputs) -> RISInputs:
        """The original image and text."""
        return {key: inputs[key] for key in VIEW_KEYS}

    def masked_view(self, inputs: RISInputs) -> RISInputs:
        """Masked image and/or text, same attention mask."""
        view = self.clean_view(inputs)
        for enabled, key, src, transform in (
            (self.mask_image, 'imgs', 'masked_imgs', 'RandomPatchMask'),
            (self.mask_text, 'input_ids', 'masked_input_ids',
             'RandomTextMask'),
        ):
            if not enabled:
                continue
            if src not in inputs:
                raise KeyError(
                    f'MaskRIS: inputs have no `{src}` (got {sorted(inputs)})'
                    f'; add {transform} to the train pipeline or set '
                    f'{"mask_image" if key == "imgs" else "mask_text"}'
                    '=False.')
            view[key] = inputs[src]
        return view

    def loss(self, inputs: RISInputs, data_samples: SampleList) -> dict:
        """Both DCL paths in one autograd graph.

        In 'concat' mode the two views form one 2B batch; in 'sequential'
        mode (when not driven by ``train_step``) they run one after the
        other in the same graph: same gradients, no memory saving.
        """
        if not self.with_masking:
            return self.segmentor.loss(inputs, data_samples)
        clean, masked = self.clean_view(inputs), self.masked_view(inputs)
        if self.mode == 'concat':
            batch = {k: torch.cat([clean[k], masked[k]]) for k in VIEW_KEYS}
            logits = self.segmentor._forward(batch)
            clean_logits, masked_logits = logits.chunk(2)
        else:
            self._warn_one_graph()
            clean_logits = self.segmentor._forward(clean)
            masked_logits = self.segmentor._forward(masked)
        losses = self._clean_losses(clean_logits, data_samples)
        losses.update(
            self._masked_losses(masked_logits,
                                self._soft_targets(clean_logits),
                                data_samples))
        return losses

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One optimizer step; 'sequential' backpropagates path by path."""
        if not self.runs_sequential:
            return super().train_step(data, optim_wrapper)
        return self.sequential_train_step(data, optim_wrapper, self)

    def sequential_train_step(
            self,
            data: dict,
            optim_wrapper: OptimWrapper,
            model: nn.Module,
            clean_context: Callable = nullcontext) -> Dict[str, Tensor]:
        """Clean path forward + backward, then masked path, one step.

        Args:
            data (dict): A batch from the dataloader.
            optim_wrapper (OptimWrapper): The optimizer wrapper (AMP and
                gradient accumulation are honoured).
            model (nn.Module): What runs the forwards: this model, or a DDP
                wrapper around it.
            clean_context (callable): Context of the clean path's forward
                and backward, e.g. DDP's ``no_sync`` so that gradients are
                all-reduced once, after the masked path.

        Returns:
            dict: Log variables of both paths and the total ``loss``.
        """
        if not isinstance(optim_wrapper, OptimWrapper):
            raise TypeError('MaskRIS sequential mode needs one OptimWrapper, '
                            f'got {type(optim_wrapper).__name__}.')
        with optim_wrapper.optim_context(model):
            data = self.data_preprocessor(data, True)
        with clean_context():
            with optim_wrapper.optim_context(model):
                clean_losses, soft_targets = model(**data, mode='clean_loss')
            clean_loss, clean_vars = self.parse_losses(clean_losses)
            optim_wrapper.backward(optim_wrapper.scale_loss(clean_loss))
            # Both backward calls belong to one step: count it once, in
            # update_params below (accumulation and loss scaling use it).
            optim_wrapper._inner_count -= 1
        with optim_wrapper.optim_context(model):
            masked_losses = model(
                **data, soft_targets=soft_targets, mode='masked_loss')
        masked_loss, masked_vars = self.parse_losses(masked_losses)
        optim_wrapper.update_params(masked_loss)
        log_vars = OrderedDict(loss=clean_loss.detach() + masked_loss.detach())
        for name, value in (*clean_vars.items(), *masked_vars.items()):
            if name != 'loss':
                log_vars[name] = value.detach()
        return log_vars

    def _clean_losses(self, logits: Tensor, data_samples: SampleList) -> dict:
        losses = self.segmentor.loss_by_logits(logits, data_samples)
        return _prefixed(losses, 'clean', self.clean_weight)

    def _masked_losses(self, logits: Tensor, soft_targets: Tensor,
                       data_samples: SampleList) -> dict:
        if logits.shape != soft_targets.shape:
            raise ValueError(
                f'MaskRIS: masked logits {tuple(logits.shape)} and soft '
                f'targets {tuple(soft_targets.shape)} differ in shape.')
        name = getattr(self.loss_distill, 'loss_name', 'loss_distill')
        losses = {
            f'distill.{name}':
            self.distill_weight * self.loss_distill(logits, soft_targets)
        }
        if self.masked_gt_weight > 0:
            gt_losses = self.segmentor.loss_by_logits(logits, data_samples)
            losses.update(
                _prefixed(gt_losses, 'masked_gt', self.masked_gt_weight))
        return losses

    @staticmethod
    def _soft_targets(clean_logits: Tensor) -> Tensor:
        """Teacher probabilities; no gradient flows into the clean path."""
        return clean_logits.detach().float().softmax(dim=1)

    def _warn_one_graph(self) -> None:
        if self.training and not self._warned_one_graph:
            self._warned_one_graph = True
            print_log(
                "MaskRIS(mode='sequential'): loss() holds both paths in one "
                'graph (same gradients, no memory saving). Under DDP set '
                "model_wrapper_cfg=dict(type='MaskRISDistributedDataParallel')"
                '.',
                logger='current',
                level=logging.WARNING)


def _prefixed(losses: dict, prefix: str, weight: float) -> dict:
    """Prefix the keys; scale the losses (keys containing 'loss')."""
    return {
        f'{prefix}.{name}': value * weight if 'loss' in name else value
        for name, value in losses.items()
    }


def _strip_segmentor_prefix(module: nn.Module, state_dict: dict, prefix: str,
                            local_metadata: dict) -> None:
    """State-dict hook: ``<prefix>segmentor.x`` -> ``<prefix>x``."""
    inner = prefix + 'segmentor.'
    for key in [k for k in state_dict if k.startswith(inner)]:
        state_dict[prefix + key[len(inner):]] = state_dict.pop(key)
    # Module versions: add the stripped names, keep the prefixed ones, so
    # that both MaskRIS and the plain segmentor find them when loading.
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        for key in [k for k in metadata if k.startswith(inner)]:
            metadata[prefix + key[len(inner):]] = metadata[key]


def _add_segmentor_prefix(module: nn.Module, state_dict: dict, prefix: str,
                          *args) -> None:
    """Load pre-hook: accept keys with or without ``segmentor.``."""
    inner = prefix + 'segmentor.'
    for key in [
            k for k in state_dict
            if k.startswith(prefix) and not k.startswith(inner)
    ]:
        state_dict[inner + key[len(prefix):]] = state_dict.pop(key)
