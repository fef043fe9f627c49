"""Draw every N-th validation/test sample with its sentence."""
import os.path as osp
import warnings
from typing import Optional, Sequence

import mmcv
import mmengine.fileio as fileio
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer

from mmris.registry import HOOKS


@HOOKS.register_module()
class RISVisualizationHook(Hook):
    """Save pictures of validation/test predictions (mmseg's
    ``SegVisualizationHook``, counted in samples and naming sentences).

    Every ``interval``-th sample of each validation/test epoch (the 1st,
    the ``interval + 1``-th, ...) is drawn by the current visualizer
    (``RISLocalVisualizer``: sentence, image, ground truth, prediction) and
    sent to its vis backends: ``LocalVisBackend`` writes
    ``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<step>.png``, a
    ``TensorboardVisBackend`` (if configured; tensorboard is optional) logs
    it. With ``out_dir`` the pictures are also written there. Names are
    ``<mode>_<image name>_<sent_id>``; steps are the training iteration
    (0 outside training).
    Under distributed evaluation only the main process draws, from its own
    share of the samples.

    Args:
        draw (bool): Whether to draw at all. Defaults to False.
        interval (int): Draw one sample in ``interval``. Defaults to 50.
        show (bool): Show the pictures in a window instead of storing them
            in the backends. Defaults to False.
        wait_time (float): Seconds each shown picture stays. Defaults to 0.
        out_dir (str, optional): Extra directory for the PNG files, relative
            to ``<work_dir>/<timestamp>`` unless absolute. Defaults to None.
        backend_args (dict, optional): File backend arguments used to read
            the images. Defaults to None.
    """

    priority = 'NORMAL'

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 show: bool = False,
                 wait_time: float = 0.,
                 out_dir: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError('RISVisualizationHook: interval must be an int '
                             f'>= 1, got {interval!r}.')
        self._visualizer: Visualizer = Visualizer.get_current_instance()
        self.draw = draw
        self.interval = interval
        self.show = show
        if self.show:
            self._visualizer._vis_backends = {}
            warnings.warn('RISVisualizationHook: show=True displays the '
                          'pictures and stores none in the vis backends.')
        self.wait_time = wait_time
        self.out_dir = out_dir
        self.backend_args = backend_args.copy() if backend_args else None
        self._seen = 0

    def before_val_epoch(self, runner) -> None:
        """Restart the sample count."""
        self._seen = 0

    def before_test_epoch(self, runner) -> None:
        """Restart the sample count."""
        self._seen = 0

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch=None,
                    outputs: Optional[Sequence] = None,
                    mode: str = 'val') -> None:
        """Draw the due samples of a validation/test batch."""
        if not self.draw or mode == 'train' or not outputs:
            return
        for sample in outputs:
            due = self._seen % self.interval == 0
            self._seen += 1
            if due and is_main_process():
                self._draw(runner, sample, mode)

    def _draw(self, runner, sample, mode: str) -> None:
        img_path = sample.metainfo.get('img_path')
        if img_path is None:
            raise KeyError('RISVisualizationHook: the data sample has no '
                           "metainfo 'img_path' to read the image from; it "
                           f'has {sorted(sample.metainfo_keys())}.')
        img = mmcv.imfrombytes(
            fileio.get(img_path, backend_args=self.backend_args),
            channel_order='rgb')
        name = f'{mode}_{osp.splitext(osp.basename(img_path))[0]}'
        if 'sent_id' in sample.metainfo:
            name += f'_{sample.metainfo["sent_id"]}'
        # like LoggerHook: do not build a train loop just to read its iter
        built = runner._train_loop is not None and not isinstance(
            runner._train_loop, dict)
        step = runner.iter if built else 0
        self._visualizer.add_datasample(
            name,
            img,
            data_sample=sample,
            show=self.show,
            wait_time=self.wait_time,
            step=step)
        if self.out_dir is not None:
            out_dir = self.out_dir if osp.isabs(self.out_dir) else osp.join(
                runner.work_dir, runner.timestamp, self.out_dir)
            mmcv.imwrite(
                mmcv.rgb2bgr(self._visualizer.get_image()),
                osp.join(out_dir, f'{name}_{step}.png'))
