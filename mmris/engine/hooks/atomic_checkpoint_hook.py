"""A CheckpointHook that a crash during saving cannot corrupt."""
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mmris.registry import HOOKS
from ..atomic_file_backend import atomic_write


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with crash-safe saving.

    Differences from the parent, all about what a kill (or a full disk)
    during saving leaves behind:

    - checkpoints are written through the ``atomic_local`` file backend
      (temporary file + fsync + ``os.replace``, see
      :class:`~mmris.engine.AtomicLocalBackend`) unless ``backend_args``
      names another backend (e.g. for a remote ``out_dir``);
    - ``work_dir/last_checkpoint`` is replaced atomically, and only after
      the checkpoint it names is complete on disk, so
      ``Runner(resume=True)`` always finds a complete checkpoint;
    - the checkpoint beyond ``max_keep_ckpts`` and the previous best
      checkpoint are removed only *after* their successor is saved (the
      parent removes first, so a crash in between can leave no checkpoint,
      or a ``last_checkpoint`` naming a deleted file).

    A crash may leave a hidden ``.<name>.<pid>.<hex>.tmp`` file, or, between
    saving a new best checkpoint and removing the old one, one extra best
    file; never a partial file under a checkpoint name. ``oIoU`` and keys
    with ``Prec@`` count as greater-is-better for ``save_best``.

    Args:
        backend_args (dict, optional): File backend arguments. Defaults to
            None, meaning ``dict(backend='atomic_local')``.
        **kwargs: Arguments of :class:`mmengine.hooks.CheckpointHook`.
    """

    _default_greater_keys = CheckpointHook._default_greater_keys + [
        'oIoU', 'Prec@'
    ]

    def __init__(self,
                 *args,
                 backend_args: Optional[dict] = None,
                 file_client_args: Optional[dict] = None,
                 **kwargs) -> None:
        if backend_args is None and file_client_args is None:
            backend_args = dict(backend='atomic_local')
        super().__init__(
            *args,
            backend_args=backend_args,
            file_client_args=file_client_args,
            **kwargs)

    def _remove_checkpoint(self, path: Optional[str]) -> None:
        """Remove a checkpoint file (or a DeepSpeed checkpoint directory)."""
        if not path or not is_main_process():
            return
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save ``filename_tmpl.format(step)``, then point
        ``last_checkpoint`` at it, then drop the outdated checkpoint."""
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write(
            str(self.last_ckpt).encode('utf-8'),
            osp.join(runner.work_dir, 'last_checkpoint'))
        if outdated is not None:
            self._remove_checkpoint(
                self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(outdated)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """Save a new best checkpoint before removing the previous one."""
        if not self.save_best:
            return
        single = len(self.key_indicators) == 1
        # with no previous path the parent removes nothing
        if single:
            previous = {None: self.best_ckpt_path}
            self.best_ckpt_path = None
        else:
            previous = dict(self.best_ckpt_path_dict)
            self.best_ckpt_path_dict = dict.fromkeys(self.key_indicators)
        try:
            super()._save_best_checkpoint(runner, metrics)
        except BaseException:
            self._restore_best_paths(previous, single, updated_only=False)
            raise
        replaced = self._restore_best_paths(previous, single)
        for path in replaced:
            self._remove_checkpoint(path)
            runner.logger.info(f'The previous best checkpoint {path} is '
                               'removed')

    def _restore_best_paths(self,
                            previous: dict,
                            single: bool,
                            updated_only: bool = True) -> list:
        """Put back the previous best paths that were not replaced (all of
        them if not ``updated_only``); return the replaced ones."""
        replaced = []
        for key, old in previous.items():
            new = self.best_ckpt_path if single else \
                self.best_ckpt_path_dict.get(key)
            if new is None or not updated_only:
                if single:
                    self.best_ckpt_path = old
                else:
                    self.best_ckpt_path_dict[key] = old
            elif old and old != new:
                replaced.append(old)
        return replaced
