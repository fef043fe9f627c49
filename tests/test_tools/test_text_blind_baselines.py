"""tools/analysis/text_blind_baselines.py on a hand-made REFER dataset whose
baseline figures are worked out by hand, and with a tiny real model."""
import importlib.util
import json
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from pycocotools import mask as mask_utils

from mmris.registry import DATASETS, MODELS
from mmris.utils import register_all_modules
from tiny_cpu_configs import ROOT, tiny_config

SIZE = 32

_spec = importlib.util.spec_from_file_location(
    'text_blind_baselines',
    osp.join(ROOT, 'tools', 'analysis', 'text_blind_baselines.py'))
tbb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tbb)

#: image id -> {ann id: (y0, y1, x0, x1)}: A 100 px, B 20 px; C 30, D 64.
OBJECTS = {
    1: {1: (0, 10, 0, 10), 2: (20, 24, 20, 25)},
    2: {3: (0, 5, 0, 6), 4: (10, 18, 10, 18)},
}
#: (ref id, image id, ann id, sentences), all in 'val'
REFS = [(0, 1, 1, ['big one']), (1, 1, 2, ['small one', 'the little one']),
        (2, 2, 3, ['the smaller box'])]


def _rle(box):
    mask = np.zeros((SIZE, SIZE), np.uint8)
    y0, y1, x0, x1 = box
    mask[y0:y1, x0:x1] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    return dict(size=rle['size'], counts=rle['counts'].decode('ascii'))


@pytest.fixture(scope='module')
def hand_made(tmp_path_factory):
    """REFER files + images of OBJECTS / REFS, and a config reading them."""
    root = tmp_path_factory.mktemp('hand_made')
    (root / 'images').mkdir()
    images, anns = [], []
    for image_id, objs in OBJECTS.items():
        name = f'{image_id}.png'
        img = np.full((SIZE, SIZE, 3), 128, np.uint8)
        for ann_id, box in objs.items():
            y0, y1, x0, x1 = box
            img[y0:y1, x0:x1] = (40 * ann_id, 200, 30)
            anns.append(
                dict(id=ann_id, image_id=image_id, category_id=1,
                     segmentation=_rle(box), iscrowd=0,
                     area=float((y1 - y0) * (x1 - x0)),
                     bbox=[x0, y0, x1 - x0, y1 - y0]))
        cv2.imwrite(str(root / 'images' / name), img)
        images.append(dict(id=image_id, file_name=name, height=SIZE,
                           width=SIZE))
    with open(root / 'instances.json', 'w') as f:
        json.dump(dict(images=images, annotations=anns,
                       categories=[dict(id=1, name='box')]), f)
    refs, sent_id = [], 0
    for ref_id, image_id, ann_id, texts in REFS:
        sents = []
        for text in texts:
            sents.append(dict(sent_id=sent_id, raw=text, sent=text,
                              tokens=text.split()))
            sent_id += 1
        refs.append(dict(ref_id=ref_id, image_id=image_id, ann_id=ann_id,
                         split='val', category_id=1, sentences=sents,
                         sent_ids=[s['sent_id'] for s in sents],
                         file_name=f'{image_id}.png'))
    with open(root / 'refs(unc).p', 'wb') as f:
        pickle.dump(refs, f)
    return root, tiny_config(root / 'tiny.py', str(root), SIZE)


def test_largest_and_union_match_hand_computed_figures(hand_made):
    _, config = hand_made
    results = tbb.main([config, '--baselines', 'largest', 'union'])
    # sentences: big one (A), small one, the little one (B), the smaller
    # box (C). largest = A in image 1, D in image 2.
    largest_iou = [1.0, 0.0, 0.0, 0.0]
    # union = A + B (120 px) in image 1, C + D (94 px) in image 2
    union_iou = [100 / 120, 20 / 120, 20 / 120, 30 / 94]
    assert results['largest']['oIoU'] == pytest.approx(
        100 * 100 / (100 + 120 + 120 + 94))
    assert results['largest']['mIoU'] == pytest.approx(
        100 * np.mean(largest_iou))
    assert results['union']['oIoU'] == pytest.approx(
        100 * (100 + 20 + 20 + 30) / (120 + 120 + 120 + 94))
    assert results['union']['mIoU'] == pytest.approx(100 * np.mean(union_iou))
    assert results['union']['Prec@0.5'] == pytest.approx(25.0)
    for metrics in results.values():
        assert metrics['num_sentences'] == 4
        assert metrics['resolution'] == 'input'


def test_original_resolution_gives_the_same_figures(hand_made, tmp_path):
    _, config = hand_made
    out = tmp_path / 'baselines.json'
    tbb.main([
        config, '--baselines', 'union', '--out', str(out), '--cfg-options',
        'test_evaluator.resolution=original'
    ])
    saved = json.loads(out.read_text())
    assert saved['split'] == 'val'
    assert saved['results']['union']['resolution'] == 'original'
    assert saved['results']['union']['oIoU'] == pytest.approx(
        100 * 170 / 454)


def test_model_rows_need_a_checkpoint(hand_made):
    _, config = hand_made
    with pytest.raises(ValueError, match='CHECKPOINT'):
        tbb.main([config, '--baselines', 'empty'])


def _empty_sentence_counts(config, checkpoint):
    """(I, U) per sentence of the model fed [CLS] [SEP], computed here
    directly: dataset -> batch -> preprocessor -> ids replaced -> model."""
    register_all_modules()
    cfg = Config.fromfile(config)
    dataset = DATASETS.build(
        dict(cfg.test_dataloader.dataset, text_mode='original',
             test_mode=True))
    model = MODELS.build(cfg.model)
    model.load_state_dict(torch.load(checkpoint)['state_dict'])
    model.eval()
    data = model.data_preprocessor(
        pseudo_collate([dataset[i] for i in range(len(dataset))]), False)
    ids = torch.zeros_like(data['inputs']['input_ids'])
    ids[:, 0], ids[:, 1] = 101, 102  # [CLS] [SEP] of the BERT vocabulary
    mask = torch.zeros_like(ids)
    mask[:, :2] = 1
    data['inputs'].update(input_ids=ids, attention_mask=mask)
    with torch.no_grad():
        samples = model.predict(**data)
    counts = []
    for s in samples:
        pred = s.input_pred_sem_seg.data[0] == 1
        gt = s.gt_sem_seg.data[0] == 1
        counts.append(((pred & gt).sum().item(), (pred | gt).sum().item()))
    return counts


def test_empty_sentence_row_is_the_model_without_words(hand_made, tmp_path):
    root, config = hand_made
    register_all_modules()
    torch.manual_seed(3)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    checkpoint = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    results = tbb.main([
        config, checkpoint, '--baselines', 'empty', 'model', '--work-dir',
        str(tmp_path / 'work')
    ])
    assert list(results) == ['empty', 'model']
    counts = np.array(_empty_sentence_counts(config, checkpoint))
    assert counts[:, 0].sum() > 0  # the model finds some object pixels
    expected = 100 * counts[:, 0].sum() / max(counts[:, 1].sum(), 1)
    assert results['empty']['oIoU'] == pytest.approx(expected)
    assert results['empty']['num_sentences'] == 4
    assert results['model']['num_sentences'] == 4
