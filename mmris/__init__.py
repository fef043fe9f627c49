import mmcv
from mmengine.utils import digit_version

from .version import __version__

MMCV_MIN, MMCV_MAX = '2.0.0rc4', '2.2.0'
assert digit_version(MMCV_MIN) <= digit_version(mmcv.__version__) < \
    digit_version(MMCV_MAX), \
    f'mmcv=={mmcv.__version__} is installed, but mmris needs ' \
    f'mmcv>={MMCV_MIN},<{MMCV_MAX} (mmsegmentation 1.2.2 and mmdet 3.3 ' \
    'reject 2.2).'

from .engine import checkpoint_loading  # noqa: E402,F401 trusted local ckpts

__all__ = ['__version__']
