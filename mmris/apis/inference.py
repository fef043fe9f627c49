"""One image + one sentence -> the referred object's mask."""
import copy
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from torch import nn

from mmris.registry import MODELS
from mmris.utils import load_checkpoint_strict, register_all_modules

#: Transforms of a test pipeline that need a ground truth; dropped.
GT_TRANSFORMS = ('LoadReferMask', 'CheckReferMask')
#: Image loaders replaced by ``LoadImageFromNDArray`` for array inputs.
IMAGE_LOADERS = ('LoadReferImage', 'LoadImageFromFile',
                 'mmcv.LoadImageFromFile', 'mmseg.LoadImageFromFile')


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Optional[str] = None,
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a RIS model from a config and load a checkpoint strictly.

    Pretrained backbone weights named in the config are not loaded (the
    checkpoint holds every weight); the text encoder is built as the config
    says (a Hugging Face name must be in the local cache when offline).

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file. None keeps the
            initial weights (a warning is logged).
        device (str, optional): e.g. 'cuda:0' or 'cpu'. Defaults to None:
            'cuda:0' when CUDA is available, else 'cpu'.
        cfg_options (dict, optional): Overrides of config settings.

    Returns:
        nn.Module: The model in eval mode, with ``cfg`` attached (its test
        pipeline is used by :func:`inference_model`).

    Raises:
        CheckpointMismatchError: The checkpoint does not fit the config.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif not isinstance(config, Config):
        raise TypeError('config must be a file name or a Config, got '
                        f'{type(config).__name__}.')
    config = copy.deepcopy(config)
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    if device is None:
        device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    register_all_modules(init_default_scope=False)
    init_default_scope(config.get('default_scope', 'mmris'))

    model = MODELS.build(config.model)
    if checkpoint is not None:
        ckpt = load_checkpoint_strict(model, checkpoint, map_location='cpu')
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        if 'dataset_meta' in meta:
            model.dataset_meta = meta['dataset_meta']
    else:
        print_log(
            'init_model: no checkpoint, the weights are the initial ones.',
            logger='current',
            level=30)
    model.cfg = config
    model.to(device)
    model.eval()
    return model


def _test_pipeline(cfg: Config, from_array: bool,
                   gt_transforms: Sequence[str]) -> Compose:
    """The config's test pipeline without ground-truth transforms."""
    pipeline = cfg.get('test_pipeline')
    if pipeline is None:
        pipeline = cfg.test_dataloader.dataset.pipeline
    steps = []
    for step in copy.deepcopy(pipeline):
        if step['type'] in gt_transforms:
            continue
        if from_array and step['type'] in IMAGE_LOADERS:
            step = dict(type='mmseg.LoadImageFromNDArray')
        steps.append(step)
    return Compose(steps)


def inference_model(
        model: nn.Module,
        image: Union[str, np.ndarray],
        sentence: str,
        gt_transforms: Sequence[str] = GT_TRANSFORMS) -> np.ndarray:
    """Segment what ``sentence`` refers to in ``image``.

    The image goes through the config's test pipeline (resize, tokenizer)
    less the ground-truth transforms; the prediction is at the original
    image size.

    Args:
        model (nn.Module): From :func:`init_model` (needs ``model.cfg``).
        image (str | np.ndarray): Image file, or an HxWx3 uint8 BGR array
            (as ``mmcv.imread`` gives).
        sentence (str): The referring expression.
        gt_transforms (Sequence[str]): Test-pipeline transforms to drop
            (they need a ground truth). Defaults to ``GT_TRANSFORMS``.

    Returns:
        np.ndarray: uint8 HxW mask, 1 on the referred object, 0 elsewhere.
    """
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError(f'inference_model: sentence must be a non-empty '
                         f'str, got {sentence!r}.')
    from_array = isinstance(image, np.ndarray)
    if from_array:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError('inference_model: an image array must be HxWx3 '
                             f'(BGR), got shape {image.shape}.')
        data = dict(img=image, text=sentence)
    elif isinstance(image, (str, Path)):
        data = dict(img_path=str(image), text=sentence)
    else:
        raise TypeError('inference_model: image must be a file name or an '
                        f'HxWx3 array, got {type(image).__name__}.')
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise AttributeError('inference_model: the model has no `cfg`; '
                             'build it with mmris.apis.init_model.')
    pipeline = _test_pipeline(cfg, from_array, gt_transforms)
    batch = pseudo_collate([pipeline(data)])
    with torch.no_grad():
        result = model.test_step(batch)[0]
    return result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
