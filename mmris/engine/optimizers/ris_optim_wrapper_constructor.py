"""Parameter groups of the RIS recipe: lr multipliers and decay rules that
combine (mmengine's ``custom_keys`` applies one key per parameter)."""
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from prettytable import PrettyTable
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from mmris.registry import OPTIM_WRAPPER_CONSTRUCTORS

NORM_TYPES = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class RISOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Optimizer wrapper constructor with composable per-parameter rules.

    Every trainable parameter gets

    - ``lr = base_lr * lr_mult``, where ``lr_mult`` comes from the longest
      key of ``paramwise_cfg['lr_mult']`` naming a module on the parameter's
      path (keys match whole dotted segments, at any depth: ``'backbone'``
      matches ``backbone.x`` and ``segmentor.backbone.x``, not
      ``my_backbone.x``), else 1;
    - ``weight_decay = base_wd * decay_mult``, where ``decay_mult`` is 0 if
      the full name matches a regular expression of ``no_decay_keys``
      (``re.search``), else ``norm_decay_mult`` for parameters of norm
      layers (BatchNorm, InstanceNorm, GroupNorm, LayerNorm),
      ``embed_decay_mult`` for those of ``nn.Embedding``, else 1.

    Both rules always apply together. Frozen parameters
    (``requires_grad=False``) are left out; a parameter shared by several
    modules is added once. Parameters with equal (lr, weight decay) share
    one param group (fewer groups keep the fused/foreach optimizer kernels
    effective); groups are ordered by decreasing lr, so the logged ``lr``
    (group 0) is the base lr when some parameter uses it. A summary table
    of the groups is logged.

    Args:
        optim_wrapper_cfg (dict): The optim wrapper config, with
            ``optimizer`` (its ``lr`` and ``weight_decay`` are the bases).
        paramwise_cfg (dict, optional): Keys (all optional):

            - ``lr_mult`` (dict[str, float]): module path -> lr multiplier.
            - ``no_decay_keys`` (list[str]): regexes of parameter names
              that get no weight decay.
            - ``norm_decay_mult`` (float): decay multiplier of norm layers.
              Defaults to 1.
            - ``embed_decay_mult`` (float): decay multiplier of
              ``nn.Embedding`` layers. Defaults to 1.

    Example:
        >>> optim_wrapper = dict(
        >>>     type='OptimWrapper',
        >>>     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-2),
        >>>     constructor='RISOptimWrapperConstructor',
        >>>     paramwise_cfg=dict(
        >>>         lr_mult=dict(backbone=0.1, text_encoder=0.1),
        >>>         norm_decay_mult=0.0, embed_decay_mult=0.0,
        >>>         no_decay_keys=['relative_position_bias_table']))
    """

    KEYS = ('lr_mult', 'no_decay_keys', 'norm_decay_mult', 'embed_decay_mult')

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        cfg = self.paramwise_cfg
        self.lr_mult: Dict[str, float] = dict(cfg.get('lr_mult', {}))
        self.no_decay_keys: List[str] = list(cfg.get('no_decay_keys', []))
        self.no_decay_patterns = [re.compile(k) for k in self.no_decay_keys]
        self.norm_decay_mult = float(cfg.get('norm_decay_mult', 1.0))
        self.embed_decay_mult = float(cfg.get('embed_decay_mult', 1.0))
        # non-empty, so the parent's __call__ always goes through add_params
        self.paramwise_cfg = dict(cfg, lr_mult=self.lr_mult)

    def _validate_cfg(self) -> None:
        """Reject unknown keys and malformed values with a clear message."""
        cfg = self.paramwise_cfg
        if not isinstance(cfg, dict):
            raise TypeError('RISOptimWrapperConstructor: paramwise_cfg must '
                            f'be a dict or None, got {type(cfg).__name__}.')
        unknown = sorted(set(cfg) - set(self.KEYS))
        if unknown:
            raise KeyError(f'RISOptimWrapperConstructor: paramwise_cfg keys '
                           f'{unknown} are not supported; expected some of '
                           f'{list(self.KEYS)}.')
        lr_mult = cfg.get('lr_mult', {})
        if not isinstance(lr_mult, dict) or not all(
                isinstance(v, (int, float)) for v in lr_mult.values()):
            raise TypeError('RISOptimWrapperConstructor: paramwise_cfg.'
                            'lr_mult must map module paths to numbers, got '
                            f'{lr_mult!r}.')
        if not isinstance(cfg.get('no_decay_keys', []), (list, tuple)):
            raise TypeError('RISOptimWrapperConstructor: paramwise_cfg.'
                            'no_decay_keys must be a list of regexes, got '
                            f'{cfg["no_decay_keys"]!r}.')
        for key in cfg.get('no_decay_keys', []):
            try:
                re.compile(key)
            except (re.error, TypeError) as err:
                raise ValueError(
                    'RISOptimWrapperConstructor: paramwise_cfg.no_decay_keys '
                    f'entry {key!r} is not a regular expression ({err}).')

    def param_mults(self, name: str, module: nn.Module) -> Tuple[float, float]:
        """Return ``(lr_mult, decay_mult)`` of parameter ``name`` (full
        dotted name) owned directly by ``module``."""
        padded = f'.{name}.'
        matches = [k for k in self.lr_mult if f'.{k}.' in padded]
        lr_mult = float(self.lr_mult[max(matches, key=len)]) \
            if matches else 1.0
        if any(p.search(name) for p in self.no_decay_patterns):
            decay_mult = 0.0
        elif isinstance(module, NORM_TYPES):
            decay_mult = self.norm_decay_mult
        elif isinstance(module, nn.Embedding):
            decay_mult = self.embed_decay_mult
        else:
            decay_mult = 1.0
        return lr_mult, decay_mult

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   **kwargs) -> None:
        """Append the param groups of ``module`` to ``params``.

        Args:
            params (list[dict]): Param groups, extended in place.
            module (nn.Module): The model.
            prefix (str): Name prefix of ``module``. Defaults to ''.
        """
        groups: Dict[Tuple[float, float], dict] = OrderedDict()
        seen, num_frozen = set(), 0
        for mod_name, mod in module.named_modules(prefix=prefix):
            for param_name, param in mod.named_parameters(recurse=False):
                if id(param) in seen:
                    continue
                seen.add(id(param))
                if not param.requires_grad:
                    num_frozen += 1
                    continue
                name = f'{mod_name}.{param_name}' if mod_name else param_name
                mults = self.param_mults(name, mod)
                group = groups.setdefault(mults,
                                          dict(params=[], names=[], numel=0))
                group['params'].append(param)
                group['names'].append(name)
                group['numel'] += param.numel()

        table = PrettyTable(
            ['lr', 'weight_decay', 'tensors', 'parameters', 'e.g.'])
        for (lr_mult, decay_mult) in sorted(groups, reverse=True):
            group = groups[(lr_mult, decay_mult)]
            param_group = dict(params=group['params'])
            if self.base_lr is not None:
                param_group['lr'] = self.base_lr * lr_mult
            if self.base_wd is not None:
                param_group['weight_decay'] = self.base_wd * decay_mult
            params.append(param_group)
            table.add_row([
                param_group.get('lr', '-'),
                param_group.get('weight_decay', '-'),
                len(group['params']), group['numel'], group['names'][0]
            ])
        print_log(
            f'{type(self).__name__}: {len(groups)} param groups, '
            f'{num_frozen} frozen tensors left out:\n{table.get_string()}',
            logger='current')
