"""Referring-segmentation metric: oIoU, mIoU and Prec@X over sentences."""
import logging
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmengine.structures import BaseDataElement
from prettytable import PrettyTable
from pycocotools import mask as mask_utils

from mmris.registry import METRICS


@METRICS.register_module()
class RISMetric(BaseMetric):
    """Referring image segmentation metric (one sample = one sentence).

    For every sentence it keeps only the intersection ``I`` and the union
    ``U`` of the predicted and the ground-truth foreground (class 1), then
    reports, in percent:

    - ``oIoU``: overall IoU, ``sum(I) / sum(U)`` over all sentences;
    - ``mIoU``: mean of the per-sentence IoUs ``I / U``;
    - ``Prec@X``: share of sentences whose IoU is ``>= X``, for each
      threshold X (keys spelled ``Prec@0.5`` ... ``Prec@0.9``);

    plus ``num_sentences`` and ``resolution`` (which protocol was used).

    An empty union (no ground-truth pixel and no predicted pixel) is a
    correct answer: its IoU counts as 1 in ``mIoU`` and ``Prec@X``, and it
    adds nothing to ``oIoU``. If every union is empty, ``oIoU`` is 100;
    with no sentence at all every value is 0 (and a warning is logged).

    Resolutions:

    - ``'input'`` (default, the published protocol): ``input_pred_sem_seg``
      (prediction at the network input size) against ``gt_sem_seg`` (the
      ground truth resized to the input size, nearest).
    - ``'original'``: ``pred_sem_seg`` (at the original image size) against
      the metainfo ``gt_mask_rle`` (COCO RLE at the original size).

    Under distributed evaluation each rank keeps one ``(I, U)`` pair per
    sample, so mmengine's ``collect_results`` drops the sampler's padding
    exactly.

    Args:
        resolution (str): ``'input'`` or ``'original'``. Defaults to
            ``'input'``.
        thresholds (Sequence[float]): IoU thresholds of ``Prec@X``, each in
            (0, 1]. Defaults to (0.5, 0.6, 0.7, 0.8, 0.9).
        ignore_index (int): Ground-truth value excluded from I and U at the
            input resolution. Defaults to 255.
        collect_device (str): Device used to collect results across ranks,
            'cpu' or 'gpu'. Defaults to 'cpu'.
        collect_dir (str, optional): Directory shared by the ranks for
            ``collect_device='cpu'``. Defaults to None (a temporary one).
        prefix (str, optional): Prefix of the metric names. Defaults to
            None (keys as above, e.g. ``save_best='oIoU'``).
    """

    RESOLUTIONS = ('input', 'original')

    def __init__(self,
                 resolution: str = 'input',
                 thresholds: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None,
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        if resolution not in self.RESOLUTIONS:
            raise ValueError(f'RISMetric: resolution={resolution!r} is not '
                             f'one of {self.RESOLUTIONS}.')
        thresholds = tuple(float(t) for t in thresholds)
        if not thresholds or any(not 0 < t <= 1 for t in thresholds):
            raise ValueError(f'RISMetric: thresholds={thresholds} must be a '
                             'non-empty list of numbers in (0, 1].')
        self.resolution = resolution
        self.thresholds = thresholds
        self.ignore_index = ignore_index

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep ``(I, U)`` of every sample of the batch.

        Args:
            data_batch (dict): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs, as dicts (the
                ``Evaluator`` converts ``SegDataSample``) or data samples.
        """
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            if self.resolution == 'input':
                self.results.append(self._input_counts(sample))
            else:
                self.results.append(self._original_counts(sample))

    def _input_counts(self, sample: dict) -> Tuple[int, int]:
        """I and U at the network input size."""
        self._check_keys(sample, ('input_pred_sem_seg', 'gt_sem_seg'))
        pred = sample['input_pred_sem_seg']['data'].squeeze(0)
        gt = sample['gt_sem_seg']['data'].squeeze(0).to(pred.device)
        self._check_shapes(sample, 'input_pred_sem_seg', pred, 'gt_sem_seg',
                           gt)
        valid = gt != self.ignore_index
        pred_fg, gt_fg = (pred == 1) & valid, (gt == 1) & valid
        bad_pred = ((pred != 0) & (pred != 1)).sum()
        bad_gt = (valid & (gt != 0) & (gt != 1)).sum()
        inter, union, bad_pred, bad_gt = torch.stack([
            (pred_fg & gt_fg).sum(), (pred_fg | gt_fg).sum(), bad_pred, bad_gt
        ]).tolist()  # one device sync per sample
        if bad_pred or bad_gt:
            field = 'input_pred_sem_seg' if bad_pred else 'gt_sem_seg'
            raise ValueError(
                f'RISMetric: {field} of {self._describe(sample)} has '
                f'values {self._values(pred if bad_pred else gt)}; expected '
                f'0 (background) and 1 (object)'
                f'{"" if bad_pred else f" or {self.ignore_index} (ignored)"}.')
        return inter, union

    def _original_counts(self, sample: dict) -> Tuple[int, int]:
        """I and U at the original image size, against the RLE mask."""
        self._check_keys(sample, ('pred_sem_seg', 'gt_mask_rle'))
        pred = sample['pred_sem_seg']['data'].squeeze(0).cpu().numpy()
        rle = sample['gt_mask_rle']
        try:
            gt = mask_utils.decode(rle)
        except Exception as err:
            raise ValueError(
                f'RISMetric: gt_mask_rle of {self._describe(sample)} is not '
                f'a COCO RLE dict with "size" and "counts" ({err}).') from err
        self._check_shapes(sample, 'pred_sem_seg', pred, 'gt_mask_rle', gt)
        if not np.isin(pred, (0, 1)).all():
            raise ValueError(
                f'RISMetric: pred_sem_seg of {self._describe(sample)} has '
                f'values {np.unique(pred)[:10].tolist()}; expected 0 and 1.')
        pred_fg, gt_fg = pred == 1, gt > 0
        return int((pred_fg & gt_fg).sum()), int((pred_fg | gt_fg).sum())

    def compute_metrics(self, results: list) -> Dict[str, object]:
        """Compute oIoU, mIoU and Prec@X from the ``(I, U)`` pairs.

        Args:
            results (list[tuple[int, int]]): ``(I, U)`` per sentence.

        Returns:
            dict: ``oIoU``, ``mIoU``, ``Prec@X`` (percent, float),
            ``num_sentences`` (int) and ``resolution`` (str).
        """
        counts = np.asarray(results, dtype=np.int64).reshape(-1, 2)
        inter, union = counts[:, 0], counts[:, 1]
        num = len(counts)
        # empty union = nothing to find and nothing found: IoU 1
        ious = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        total_union = union.sum()
        oiou = inter.sum() / total_union if total_union > 0 else 1.0
        if num == 0:  # no sentence at all: nothing was right
            print_log('RISMetric: no sample was evaluated; every metric is 0.',
                      logger='current', level=logging.WARNING)
            oiou, ious = 0.0, np.zeros(1)
        metrics = OrderedDict()
        metrics['oIoU'] = float(100.0 * oiou)
        metrics['mIoU'] = float(100.0 * ious.mean())
        for thr in self.thresholds:
            metrics[f'Prec@{thr:g}'] = float(100.0 * (ious >= thr).mean())
        metrics['num_sentences'] = int(num)
        metrics['resolution'] = self.resolution

        table = PrettyTable()
        for key, value in metrics.items():
            table.add_column(
                key, [f'{value:.2f}' if isinstance(value, float) else value])
        logger: MMLogger = MMLogger.get_current_instance()
        print_log('referring segmentation results:', logger)
        print_log('\n' + table.get_string(), logger=logger)
        return metrics

    @staticmethod
    def _check_keys(sample: dict, keys: Sequence[str]) -> None:
        missing = [key for key in keys if key not in sample]
        if missing:
            raise KeyError(
                f'RISMetric: sample {RISMetric._describe(sample)} has no '
                f'{missing}; it has {sorted(sample)}. See the resolution '
                'argument and docs/interfaces.md.')

    @staticmethod
    def _check_shapes(sample: dict, pred_name: str, pred, gt_name: str,
                      gt) -> None:
        if tuple(pred.shape) != tuple(gt.shape):
            raise ValueError(
                f'RISMetric: {pred_name} has shape {tuple(pred.shape)} but '
                f'{gt_name} has shape {tuple(gt.shape)} for '
                f'{RISMetric._describe(sample)}; expected equal H x W.')

    @staticmethod
    def _describe(sample: dict) -> str:
        keys = ('img_path', 'ref_id', 'sent_id')
        found = [f'{k}={sample[k]!r}' for k in keys if k in sample]
        return '(' + ', '.join(found) + ')' if found else '(no ids)'

    @staticmethod
    def _values(tensor: torch.Tensor) -> list:
        return torch.unique(tensor).cpu()[:10].tolist()
