from .backbones import *  # noqa: F401,F403
from .data_preprocessor import RISDataPreProcessor
from .heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
