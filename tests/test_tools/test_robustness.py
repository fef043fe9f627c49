"""tools/analysis/robustness.py: the masked views the model sees, and the
table / JSON / plot of a run with a tiny real model and generated data."""
import copy
import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmris.datasets.refshapes import generate_refshapes
from mmris.registry import DATASETS, MODELS
from mmris.utils import register_all_modules
from tiny_cpu_configs import ROOT, tiny_config

SIZE = 32
PATCH = 8
SPECIAL_IDS = (0, 101, 102)  # [PAD] [CLS] [SEP]
MASK_ID = 103

_spec = importlib.util.spec_from_file_location(
    'robustness', osp.join(ROOT, 'tools', 'analysis', 'robustness.py'))
robustness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(robustness)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Tiny RefShapes data, tiny plain and MaskRIS configs, a checkpoint of
    a freshly initialised tiny model."""
    root = tmp_path_factory.mktemp('robustness')
    generate_refshapes(
        str(root / 'data'), num_images=dict(train=2, val=2), level='easy',
        width=SIZE, height=SIZE, seed=0)
    plain = tiny_config(root / 'plain.py', str(root / 'data'), SIZE)
    maskris = tiny_config(
        root / 'maskris.py', str(root / 'data'), SIZE, maskris=True)
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(plain).model)
    model.init_weights()
    checkpoint = str(root / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    return root, plain, maskris, checkpoint


def _masked_batch(config, occlusion, text_rate, patch_size=None):
    """A val batch through the test pipeline + the tool's masking, and the
    model inputs the wrapped preprocessor gives."""
    cfg = Config.fromfile(config)
    pipeline = list(cfg.test_dataloader.dataset.pipeline)
    pipeline[-1:-1] = robustness.masking_transforms(cfg, occlusion, text_rate,
                                                    patch_size)
    dataset = DATASETS.build(
        dict(cfg.test_dataloader.dataset, pipeline=pipeline))
    batch = pseudo_collate([dataset[i] for i in range(4)])
    model = MODELS.build(cfg.model)
    clean = model.data_preprocessor(copy.deepcopy(batch), False)['inputs']
    masked = robustness.MaskedViews(model.data_preprocessor)(batch,
                                                             False)['inputs']
    return clean, masked


def test_occlusion_blanks_that_share_of_patches_to_zero(setup):
    _, _, maskris, _ = setup
    clean, masked = _masked_batch(maskris, occlusion=0.75, text_rate=0)
    assert set(masked) == {'imgs', 'input_ids', 'attention_mask'}
    # patch size 8 comes from the config's RandomPatchMask
    cells = masked['imgs'].abs().sum(1).unflatten(1, (SIZE // PATCH, PATCH))
    cells = cells.unflatten(3, (SIZE // PATCH, PATCH)).sum((2, 4))
    blank = cells == 0
    # 16 patches per image, int(16 * 0.25) = 4 kept
    assert blank.flatten(1).sum(1).tolist() == [12] * 4
    kept = ~blank.repeat_interleave(PATCH, 1).repeat_interleave(PATCH, 2)
    kept = kept.unsqueeze(1).expand_as(clean['imgs'])
    assert torch.equal(masked['imgs'][kept], clean['imgs'][kept])
    assert torch.equal(masked['input_ids'], clean['input_ids'])


def test_text_masking_changes_words_only(setup):
    _, plain, _, _ = setup
    clean, masked = _masked_batch(plain, occlusion=0, text_rate=1.0)
    assert torch.equal(masked['imgs'], clean['imgs'])
    assert torch.equal(masked['attention_mask'], clean['attention_mask'])
    ids, masked_ids = clean['input_ids'], masked['input_ids']
    special = torch.isin(ids, torch.tensor(SPECIAL_IDS))
    assert torch.equal(masked_ids[special], ids[special])
    # every word piece is selected: 80% [MASK], 10% random, 10% unchanged
    assert (masked_ids[~special] == MASK_ID).float().mean() > 0.5


def test_plain_config_needs_a_patch_size(setup):
    _, plain, _, _ = setup
    with pytest.raises(ValueError, match='--patch-size'):
        _masked_batch(plain, occlusion=0.5, text_rate=0)
    _, masked = _masked_batch(plain, occlusion=0.5, text_rate=0, patch_size=16)
    assert (masked['imgs'].abs().sum(1) == 0).float().mean() == 0.5


def test_tool_writes_table_json_and_plot(setup, capsys):
    root, plain, maskris, checkpoint = setup
    first = root / 'plain_out'
    results = robustness.main([
        plain, checkpoint, '--occlusion', '0', '0.5', '--text-mask', '0.3',
        '--patch-size', str(PATCH), '--label', 'plain', '--out-dir',
        str(first)
    ])
    assert results['label'] == 'plain'
    assert sorted(results['settings']) == ['0.5/0.3', '0/0.3']
    for metrics in results['settings'].values():
        assert 0 <= metrics['oIoU'] <= 100
        assert metrics['num_sentences'] > 0
    saved = json.loads((first / 'robustness.json').read_text())
    assert saved['settings'] == json.loads(json.dumps(results['settings']))
    table = (first / 'robustness.md').read_text().strip().splitlines()
    assert table[0].endswith('| 0.3 |')
    assert len(table) == 2 + 2  # header, rule, one row per occlusion
    assert table[2].startswith('| 0 |') and table[3].startswith('| 0.5 |')
    assert f'{results["settings"]["0.5/0.3"]["oIoU"]:.2f}' in table[3]
    assert '| 0.5 |' in capsys.readouterr().out

    # the same weights through the MaskRIS config (its checkpoints and the
    # plain ones load into each other), patch size from its pipeline, seed
    # 0 again: the same draws, the same figure; plotted with the first run
    second = root / 'maskris_out'
    again = robustness.main([
        maskris, checkpoint, '--occlusion', '0.5', '--text-mask', '0.3',
        '--out-dir',
        str(second), '--compare',
        str(first / 'robustness.json')
    ])
    assert again['settings']['0.5/0.3']['oIoU'] == pytest.approx(
        results['settings']['0.5/0.3']['oIoU'])
    img = cv2.imread(str(second / 'robustness.png'))
    assert img is not None and img.shape[0] > 100 and img.shape[1] > 100
    assert not np.all(img == img[0, 0])


def test_bad_ratios_are_rejected(setup, capsys):
    _, plain, _, checkpoint = setup
    with pytest.raises(SystemExit):
        robustness.main([plain, checkpoint, '--occlusion', '1.0'])
    assert '--occlusion ratios must be in [0, 1)' in capsys.readouterr().err
