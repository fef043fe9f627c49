"""Side-by-side picture of a referring-segmentation sample: the image, the
ground truth and the prediction, under the sentence."""
import textwrap
from typing import List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.dist import master_only
from mmengine.structures import BaseDataElement
from mmseg.visualization import SegLocalVisualizer
from pycocotools import mask as mask_utils

from mmris.registry import VISUALIZERS


@VISUALIZERS.register_module()
class RISLocalVisualizer(SegLocalVisualizer):
    """Visualizer of referring image segmentation samples.

    ``add_datasample`` draws one picture: a caption band with the sentence
    (metainfo ``text``, wrapped to the width, ASCII rendering: other
    characters show as ``?``) and the panel titles, above three panels at
    the image's size: the image, the ground truth overlaid on it, and the
    prediction overlaid on it (titled with its IoU). The ground truth is
    the metainfo ``gt_mask_rle`` when present, else ``gt_sem_seg``; the
    prediction is ``pred_sem_seg``, else ``input_pred_sem_seg``. Masks of
    another size are resized (nearest) to the image. Like mmseg's
    visualizer, the picture goes to ``out_file`` if given, else to every
    vis backend (``LocalVisBackend`` writes
    ``<save_dir>/vis_data/vis_image/<name>_<step>.png``).

    Args:
        name (str): Instance name. Defaults to 'visualizer'.
        image (np.ndarray, optional): RGB image to start with.
        vis_backends (list[dict], optional): Vis backend configs.
        save_dir (str, optional): Directory of the backends' files.
        gt_color (tuple[int]): RGB of the ground-truth overlay.
            Defaults to (0, 200, 0).
        pred_color (tuple[int]): RGB of the prediction overlay.
            Defaults to (230, 40, 40).
        alpha (float): Opacity of the overlays. Defaults to 0.5.
        font_scale (float): OpenCV font scale of the caption.
            Defaults to 0.6.
        text_color (tuple[int]): RGB of the caption text.
            Defaults to (255, 255, 255).
        caption_color (tuple[int]): RGB of the caption band.
            Defaults to (30, 30, 30).
        **kwargs: Other arguments of :class:`SegLocalVisualizer`.
    """

    FONT = cv2.FONT_HERSHEY_SIMPLEX

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None,
                 save_dir: Optional[str] = None,
                 gt_color: Sequence[int] = (0, 200, 0),
                 pred_color: Sequence[int] = (230, 40, 40),
                 alpha: float = 0.5,
                 font_scale: float = 0.6,
                 text_color: Sequence[int] = (255, 255, 255),
                 caption_color: Sequence[int] = (30, 30, 30),
                 **kwargs) -> None:
        kwargs.setdefault('classes', ('background', 'object'))
        kwargs.setdefault('palette', [[0, 0, 0], list(pred_color)])
        super().__init__(
            name, image, vis_backends, save_dir, alpha=alpha, **kwargs)
        self.gt_color = tuple(int(c) for c in gt_color)
        self.pred_color = tuple(int(c) for c in pred_color)
        self.font_scale = font_scale
        self.text_color = tuple(int(c) for c in text_color)
        self.caption_color = tuple(int(c) for c in caption_color)

    @staticmethod
    def _fit(mask: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
        """Boolean mask of ``shape`` (nearest resize if needed)."""
        mask = np.asarray(mask).squeeze()
        if mask.shape != shape:
            mask = mmcv.imresize(
                mask.astype(np.uint8), (shape[1], shape[0]),
                interpolation='nearest')
        return mask == 1

    def _gt_mask(self, sample: BaseDataElement,
                 shape: Tuple[int, int]) -> Optional[np.ndarray]:
        if 'gt_mask_rle' in sample:
            return self._fit(mask_utils.decode(sample.gt_mask_rle), shape)
        if 'gt_sem_seg' in sample:
            return self._fit(sample.gt_sem_seg.data.cpu().numpy(), shape)
        return None

    def _pred_mask(self, sample: BaseDataElement,
                   shape: Tuple[int, int]) -> Optional[np.ndarray]:
        for key in ('pred_sem_seg', 'input_pred_sem_seg'):
            if key in sample:
                return self._fit(sample.get(key).data.cpu().numpy(), shape)
        return None

    def _overlay(self, image: np.ndarray, mask: np.ndarray,
                 color: Tuple[int, int, int]) -> np.ndarray:
        self.set_image(image)
        if mask.any():
            self.draw_binary_masks(mask, colors=[color], alphas=self.alpha)
        return self.get_image()

    def _text_size(self, text: str) -> Tuple[int, int]:
        (width, height), baseline = cv2.getTextSize(text, self.FONT,
                                                    self.font_scale, 1)
        return width, height + baseline

    def _caption(self, sentence: str, titles: List[str],
                 panel_width: int) -> np.ndarray:
        """Band with the wrapped sentence and one title per panel."""
        width = panel_width * len(titles)
        char_width = max(
            self._text_size('abcdefghijklmnopqrstuvwxyz')[0] / 26, 1)
        line_height = self._text_size('Ag')[1] + 6
        margin = 6
        chars = max(int((width - 2 * margin) / char_width), 8)
        lines = textwrap.wrap(sentence, chars) or ['']
        # proportional font: rewrap narrower until every line fits
        while chars > 8 and max(self._text_size(line)[0]
                                for line in lines) > width - margin:
            chars -= 2
            lines = textwrap.wrap(sentence, chars)
        band = np.empty(((len(lines) + 1) * line_height + margin, width, 3),
                        dtype=np.uint8)
        band[...] = self.caption_color
        for row, line in enumerate(lines):
            self._put(band, line, (margin, (row + 1) * line_height))
        for col, title in enumerate(titles):
            while len(title) > 1 and self._text_size(
                    title)[0] > panel_width - 2 * margin:
                title = title[:-1]  # clip to its panel
            self._put(band, title, (col * panel_width + margin,
                                    (len(lines) + 1) * line_height))
        return band

    def _put(self, band: np.ndarray, text: str, origin: Tuple[int,
                                                              int]) -> None:
        ascii_text = text.encode('ascii', 'replace').decode('ascii')
        cv2.putText(band, ascii_text, origin, self.FONT, self.font_scale,
                    self.text_color, 1, cv2.LINE_AA)

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[BaseDataElement] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       **kwargs) -> None:
        """Draw ``data_sample`` on ``image`` and save or show the picture.

        Args:
            name (str): Identifier of the picture.
            image (np.ndarray): RGB image, HxWx3 uint8.
            data_sample (SegDataSample, optional): Sample with metainfo
                ``text`` and the masks named in the class docstring.
            draw_gt (bool): Draw the ground-truth panel. Defaults to True.
            draw_pred (bool): Draw the prediction panel. Defaults to True.
            show (bool): Show the picture in a window. Defaults to False.
            wait_time (float): Seconds to show it. Defaults to 0.
            out_file (str, optional): Write the picture there instead of
                to the vis backends. Defaults to None.
            step (int): Global step for the backends. Defaults to 0.
        """
        image = np.ascontiguousarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f'RISLocalVisualizer: image of {name!r} has '
                             f'shape {image.shape}; expected HxWx3 RGB.')
        shape = image.shape[:2]
        sample = data_sample if data_sample is not None else \
            BaseDataElement()
        panels, titles = [image], ['image']
        gt = self._gt_mask(sample, shape) if draw_gt else None
        pred = self._pred_mask(sample, shape) if draw_pred else None
        if gt is not None:
            panels.append(self._overlay(image, gt, self.gt_color))
            titles.append('ground truth')
        if pred is not None:
            panels.append(self._overlay(image, pred, self.pred_color))
            title = 'prediction'
            if gt is not None:
                union = np.logical_or(gt, pred).sum()
                iou = np.logical_and(gt, pred).sum() / union if union else 1.
                title += f' (IoU {100 * iou:.1f})'
            titles.append(title)
        caption = self._caption(
            str(sample.metainfo.get('text', '')), titles, shape[1])
        drawn = np.concatenate([caption, np.concatenate(panels, axis=1)])
        self.set_image(drawn)

        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)
