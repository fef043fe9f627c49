from typing import Dict, List, Optional, Tuple

from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList)
from torch import Tensor

from mmris.registry import MODELS

#: The inputs of a RIS model, as made by ``RISDataPreProcessor``.
RISInputs = Dict[str, Tensor]


@MODELS.register_module()
class RISSegmentor(BaseSegmentor):
    """Generic referring image segmentor: image encoder + text encoder + head.

    The visual backbone gives multi-scale features; an optional prompt
    generator turns them into extra text-encoder tokens (e.g. CARIS
    conditional prompts); the text encoder encodes the sentence (plus the
    extra tokens); the head fuses both into 2-class logits at its own
    resolution. A new architecture is a new head (and prompt generator)
    config. The segmentor reads only ``imgs``, ``input_ids`` and
    ``attention_mask`` of its inputs and knows nothing of MaskRIS.

    Args:
        backbone (dict): Visual backbone, e.g. ``mmseg.SwinTransformer``.
            With ``init_cfg=dict(type='Pretrained', checkpoint=...)`` its
            weights are loaded by
            ``mmris.models.utils.load_pretrained_backbone``.
        text_encoder (dict): Text encoder, e.g. ``HFTextEncoder``.
        decode_head (dict): A ``BaseRISHead`` config.
        neck (dict, optional): Neck on the visual features (mmseg necks).
        prompt_generator (dict, optional): Module mapping the visual
            features to ``[B, P, C_text]`` extra text tokens.
        train_cfg (dict, optional): Unused; must be empty if given (kept for
            mmseg config compatibility).
        test_cfg (dict, optional): ``mode`` may only be 'whole' (default).
        data_preprocessor (dict, optional): e.g. ``RISDataPreProcessor``.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 text_encoder: ConfigType,
                 decode_head: ConfigType,
                 neck: OptConfigType = None,
                 prompt_generator: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if train_cfg:
            raise ValueError('RISSegmentor has no train_cfg options, got '
                             f'{dict(train_cfg)!r}.')
        test_cfg = dict(test_cfg or {})
        if test_cfg.get('mode', 'whole') != 'whole' or set(test_cfg) - {
                'mode'}:
            raise ValueError("RISSegmentor supports test_cfg=dict(mode="
                             f"'whole') only, got {test_cfg!r}.")
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.prompt_generator = MODELS.build(
            prompt_generator) if prompt_generator is not None else None
        self.text_encoder = MODELS.build(text_encoder)
        self.decode_head = MODELS.build(decode_head)
        self.align_corners = self.decode_head.align_corners
        self.num_classes = self.decode_head.num_classes
        self.out_channels = self.decode_head.out_channels

    def init_weights(self) -> None:
        """Initialise; a ``Pretrained`` backbone is loaded with key checks.

        ``map_location``, ``weights_only`` and ``map_final_norm`` of the
        backbone's ``init_cfg`` go to ``load_pretrained_backbone``.

        The text encoder keeps its pretrained weights (its own
        ``init_weights`` does nothing).
        """
        init_cfg = self.backbone.init_cfg
        if isinstance(init_cfg, dict) and init_cfg.get('type') in (
                'Pretrained', 'mmseg.Pretrained'):
            from mmris.models.utils import load_pretrained_backbone
            options = {
                k: v
                for k, v in init_cfg.items()
                if k in ('map_location', 'weights_only', 'map_final_norm')
            }
            load_pretrained_backbone(self.backbone, init_cfg['checkpoint'],
                                     **options)
            self.backbone.is_init = True
        super().init_weights()

    def extract_feat(self,
                     inputs: RISInputs) -> Tuple[List[Tensor], Tensor, Tensor]:
        """Visual features, text features of the L tokens and text mask.

        Args:
            inputs (dict): ``imgs`` [B,3,H,W], ``input_ids`` and
                ``attention_mask`` [B,L].

        Returns:
            tuple: ``(visual_feats, text_feats [B,L,C], text_mask [B,L])``.
        """
        for key in ('imgs', 'input_ids', 'attention_mask'):
            if key not in inputs:
                raise KeyError(f'RISSegmentor: inputs have no `{key}` '
                               f'(got {sorted(inputs)}); use '
                               'RISDataPreProcessor.')
        visual_feats = list(self.backbone(inputs['imgs']))
        if self.neck is not None:
            visual_feats = list(self.neck(visual_feats))
        input_ids, text_mask = inputs['input_ids'], inputs['attention_mask']
        extra = None
        if self.prompt_generator is not None:
            extra = self.prompt_generator(visual_feats)
        text_feats = self.text_encoder(input_ids, text_mask, extra)
        return visual_feats, text_feats[:, :input_ids.shape[1]], text_mask

    def _forward(self,
                 inputs: RISInputs,
                 data_samples: OptSampleList = None) -> Tensor:
        """Logits ``[B, num_classes, h, w]`` at the head's resolution."""
        return self.decode_head(self.extract_feat(inputs))

    def encode_decode(self, inputs: RISInputs,
                      batch_img_metas: List[dict]) -> Tensor:
        """Logits upsampled to the (padded) network input size."""
        return self.decode_head.predict_by_feat(
            self._forward(inputs), batch_img_metas)

    def loss_by_logits(self, seg_logits: Tensor,
                       data_samples: SampleList) -> dict:
        """Losses of head-resolution logits against ``gt_sem_seg``."""
        return self.decode_head.loss_by_feat(seg_logits, data_samples)

    def loss(self, inputs: RISInputs, data_samples: SampleList) -> dict:
        """Losses of a batch (``loss_ce``, ``acc_seg``, ...)."""
        return self.loss_by_logits(self._forward(inputs), data_samples)

    def predict(self,
                inputs: RISInputs,
                data_samples: OptSampleList = None) -> SampleList:
        """Predict masks.

        Returns:
            list[SegDataSample]: With ``seg_logits`` and ``pred_sem_seg`` at
            the original image size and ``input_pred_sem_seg`` at the
            network input size (the published protocol).
        """
        if data_samples is None:
            size = inputs['imgs'].shape[-2:]
            batch_img_metas = [
                dict(img_shape=size, ori_shape=size, pad_shape=size)
            ] * inputs['imgs'].shape[0]
        else:
            batch_img_metas = [s.metainfo for s in data_samples]
        seg_logits = self.encode_decode(inputs, batch_img_metas)
        return self.postprocess_result(seg_logits, data_samples)

    def postprocess_result(self,
                           seg_logits: Tensor,
                           data_samples: OptSampleList = None) -> SampleList:
        """Crop padding, argmax at input size, resize to original size.

        Args:
            seg_logits (Tensor): ``[B, C, H, W]`` at the padded input size.
            data_samples (list[SegDataSample], optional): Samples whose
                metainfo gives ``img_shape`` / ``ori_shape`` / padding.

        Returns:
            list[SegDataSample]: Samples with ``seg_logits``,
            ``pred_sem_seg`` and ``input_pred_sem_seg``.
        """
        batch_size, _, height, width = seg_logits.shape
        if data_samples is None:
            data_samples = [SegDataSample() for _ in range(batch_size)]
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            # padding of the test path / of training batches (mmseg keys)
            left, right, top, bottom = meta.get(
                'img_padding_size', meta.get('padding_size', [0] * 4))
            logits = seg_logits[i:i + 1, :, top:height - bottom,
                                left:width - right]
            input_pred = logits[0].argmax(dim=0, keepdim=True)
            ori_shape = meta.get('ori_shape', logits.shape[-2:])
            if tuple(ori_shape[:2]) != tuple(logits.shape[-2:]):
                logits = resize(
                    logits,
                    size=ori_shape[:2],
                    mode='bilinear',
                    align_corners=self.align_corners,
                    warning=False)
            logits = logits[0]
            sample.set_data(
                dict(
                    seg_logits=PixelData(data=logits),
                    pred_sem_seg=PixelData(
                        data=logits.argmax(dim=0, keepdim=True)),
                    input_pred_sem_seg=PixelData(data=input_pred)))
        return data_samples
