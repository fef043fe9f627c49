"""tools/test.py and tools/test_splits.py through their command lines."""
import glob
import json
import os.path as osp

import mmcv
import numpy as np
from pycocotools import mask as mask_utils

from cli_helpers import CONFIG, data_options, run, run_dir

METRIC_KEYS = [
    'oIoU', 'mIoU', 'Prec@0.5', 'Prec@0.6', 'Prec@0.7', 'Prec@0.8',
    'Prec@0.9', 'num_sentences', 'resolution'
]


def _gt_masks(data_root, split):
    """sent_id -> (image file, ground-truth mask), from the REFER files."""
    from mmris.datasets.refer_io import load_instances, load_refs
    instances = load_instances(osp.join(data_root, 'instances.json'))
    anns = {a['id']: a for a in instances['annotations']}
    images = {i['id']: i for i in instances['images']}
    masks = {}
    for ref in load_refs(osp.join(data_root, 'refs(unc).p')):
        if ref['split'] != split:
            continue
        image = images[ref['image_id']]
        h, w = image['height'], image['width']
        rle = mask_utils.merge(
            mask_utils.frPyObjects(anns[ref['ann_id']]['segmentation'], h,
                                   w))
        for sent_id in ref['sent_ids']:
            masks[sent_id] = (image['file_name'], mask_utils.decode(rle))
    return masks


def test_test_prints_table_and_writes_json(tested):
    work_dir, out, results = tested
    metrics = results['results']['testA']
    assert list(metrics) == METRIC_KEYS
    assert metrics['num_sentences'] == 12
    assert metrics['resolution'] == 'original'
    assert results['config'] == CONFIG
    assert results['checkpoint'].endswith('epoch_2.pth')
    assert results['dataset']['split'] == 'testA'
    assert '| split | oIoU | mIoU | Prec@0.5 | Prec@0.6 | Prec@0.7 | ' \
        'Prec@0.8 | Prec@0.9 | sentences | resolution |' in out
    assert f"| testA | {metrics['oIoU']:.2f} | {metrics['mIoU']:.2f} |" in out
    assert 'every weight fits the model' in out


def test_out_masks_give_the_reported_metrics(tested, data_root):
    """--out writes one mask per sentence at the image size; the metrics
    recomputed from them and the REFER ground truth are those reported."""
    work_dir, _, results = tested
    gt = _gt_masks(data_root, 'testA')
    preds = glob.glob(osp.join(work_dir, 'preds', '*.png'))
    assert len(preds) == len(gt) == 12
    inter, union, ious = 0, 0, []
    for sent_id, (file_name, gt_mask) in gt.items():
        stem = osp.splitext(file_name)[0]
        pred = mmcv.imread(
            osp.join(work_dir, 'preds', f'{stem}_{sent_id}.png'),
            flag='unchanged')
        assert pred.shape == gt_mask.shape == (48, 64)
        assert set(np.unique(pred)) <= {0, 255}
        i = np.logical_and(pred > 0, gt_mask > 0).sum()
        u = np.logical_or(pred > 0, gt_mask > 0).sum()
        inter, union = inter + i, union + u
        ious.append(i / u)
    metrics = results['results']['testA']
    assert np.isclose(metrics['oIoU'], 100 * inter / union)
    assert np.isclose(metrics['mIoU'], 100 * np.mean(ious))
    assert np.isclose(metrics['Prec@0.5'],
                      100 * np.mean(np.array(ious) >= 0.5))


def test_show_dir_draws_every_sample(tested):
    work_dir, _, _ = tested
    shown = glob.glob(osp.join(run_dir(work_dir), 'shown', '*.png'))
    assert len(shown) == 12
    picture = mmcv.imread(shown[0])
    # caption band above three panels (image, ground truth, prediction)
    assert picture.shape[1] == 3 * 64 and picture.shape[0] > 48


def test_mismatched_checkpoint_fails_listing_the_keys(
        trained, data_root, tmp_path):
    """A checkpoint of a 1-layer pixel decoder with a 2-layer config."""
    proc = run([
        'tools/test.py', CONFIG,
        osp.join(trained, 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--cfg-options', *data_options(data_root),
        'model.segmentor.decode_head.pixel_decoder.num_layers=2'
    ],
               check=False)
    assert proc.returncode != 0
    err = proc.stderr
    assert 'CheckpointMismatchError' in err, err[-3000:]
    lines = err.splitlines()
    start = [
        i for i, line in enumerate(lines)
        if line.startswith('keys the model needs but the checkpoint lacks')
    ]
    assert len(start) == 1, err[-3000:]
    missing = []
    for line in lines[start[0] + 1:]:
        if not line.startswith('    '):
            break
        missing.append(line.strip())
    assert f'({len(missing)}):' in lines[start[0]]
    assert missing and all(
        k.startswith('decode_head.pixel_decoder.layers.1.') for k in missing)
    assert 'keys of the checkpoint the model does not have' not in err
    assert not glob.glob(osp.join(str(tmp_path), '*', 'results_*.json'))


def test_test_splits_prints_the_paper_table(tested, trained, data_root,
                                            tmp_path):
    proc = run([
        'tools/test_splits.py', CONFIG,
        osp.join(trained, 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--cfg-options', *data_options(data_root),
        'test_evaluator.resolution=original', 'test_dataloader.batch_size=1'
    ])
    out = proc.stdout
    assert '| model | metric | val | testA | testB |' in out
    with open(osp.join(run_dir(str(tmp_path)),
                       f'results_{osp.basename(data_root)}_unc.json')) as f:
        results = json.load(f)['results']
    assert list(results) == ['val', 'testA', 'testB']
    assert all(list(m) == METRIC_KEYS for m in results.values())
    assert all(m['num_sentences'] == 12 for m in results.values())
    # the same checkpoint and split as tools/test.py: the same numbers
    assert results['testA'] == tested[2]['results']['testA']
    row = '| maskris_tiny_refshapes_test | oIoU | ' + ' | '.join(
        f'{results[s]["oIoU"]:.2f}' for s in ('val', 'testA', 'testB'))
    assert row in out
    assert osp.isfile(
        osp.join(run_dir(str(tmp_path)),
                 f'results_{osp.basename(data_root)}_unc.md'))


def test_maskris_checkpoint_tests_with_the_plain_segmentor_config(
        tested, trained, data_root, tmp_path):
    """MaskRIS adds no weights: its checkpoint is CARIS's, same numbers."""
    run([
        'tools/test.py', 'configs/caris_tiny_refshapes_test.py',
        osp.join(trained, 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--cfg-options', *data_options(data_root),
        'test_evaluator.resolution=original', 'test_dataloader.batch_size=1'
    ])
    with open(osp.join(run_dir(str(tmp_path)), 'results_testA.json')) as f:
        results = json.load(f)
    assert results['config'] == 'configs/caris_tiny_refshapes_test.py'
    assert results['results'] == tested[2]['results']
