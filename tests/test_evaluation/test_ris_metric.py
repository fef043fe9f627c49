import json
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.dataset import DefaultSampler
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from pycocotools import mask as mask_utils

from mmris.evaluation import RISMetric
from mmris.registry import EVALUATOR, METRICS

H = W = 8


def box(top, left, bottom, right, shape=(H, W)):
    """Binary mask with ones in rows [top, bottom) and cols [left, right)."""
    mask = np.zeros(shape, dtype=np.int64)
    mask[top:bottom, left:right] = 1
    return mask


def input_sample(pred, gt, **meta):
    sample = SegDataSample(metainfo=meta)
    sample.input_pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
    sample.gt_sem_seg = PixelData(data=torch.as_tensor(gt)[None])
    return sample


# (pred, gt, I, U) with I and U counted by hand from the boxes
CASES = [
    (box(0, 0, 4, 4), box(0, 0, 4, 4), 16, 16),  # perfect
    (box(0, 2, 4, 6), box(0, 0, 4, 4), 8, 24),  # half overlap
    (box(0, 0, 2, 3), box(0, 0, 2, 5), 6, 10),  # IoU exactly 0.6
    (box(0, 0, 0, 0), box(3, 3, 4, 8), 0, 5),  # object missed
    (box(0, 0, 0, 0), box(0, 0, 0, 0), 0, 0),  # empty union
]


def expected_metrics(cases):
    inter = [c[2] for c in cases]
    union = [c[3] for c in cases]
    ious = [i / u if u else 1.0 for i, u in zip(inter, union)]
    out = dict(
        oIoU=100 * sum(inter) / sum(union),
        mIoU=100 * sum(ious) / len(ious),
        num_sentences=len(cases))
    for thr in (0.5, 0.6, 0.7, 0.8, 0.9):
        out[f'Prec@{thr}'] = 100 * sum(iou >= thr for iou in ious) / len(ious)
    return out


def run_metric(metric, samples, batch_size=2):
    for start in range(0, len(samples), batch_size):
        metric.process(
            {}, [s.to_dict() for s in samples[start:start + batch_size]])
    return metric.evaluate(len(samples))


def test_known_values_at_input_resolution():
    samples = [input_sample(p, g) for p, g, _, _ in CASES]
    result = run_metric(RISMetric(), samples)
    expected = expected_metrics(CASES)
    assert list(result) == [
        'oIoU', 'mIoU', 'Prec@0.5', 'Prec@0.6', 'Prec@0.7', 'Prec@0.8',
        'Prec@0.9', 'num_sentences', 'resolution'
    ]
    for key, value in expected.items():
        assert result[key] == pytest.approx(value), key
    # spot-check the hand arithmetic itself
    assert result['oIoU'] == pytest.approx(100 * 30 / 55)
    assert result['Prec@0.6'] == pytest.approx(60.0)  # 0.6 counts at 0.6
    assert result['Prec@0.7'] == pytest.approx(40.0)
    assert result['resolution'] == 'input'


def test_empty_union_counts_as_iou_one():
    empty = box(0, 0, 0, 0)
    result = run_metric(RISMetric(), [input_sample(empty, empty)])
    assert result['mIoU'] == 100.0
    assert result['oIoU'] == 100.0
    assert result['Prec@0.9'] == 100.0
    assert not any(
        np.isnan(v) for v in result.values() if isinstance(v, float))
    # mixed with a missed object: the empty one adds nothing to oIoU
    missed = input_sample(empty, box(0, 0, 2, 2))
    result = run_metric(RISMetric(), [input_sample(empty, empty), missed])
    assert result['oIoU'] == 0.0
    assert result['mIoU'] == pytest.approx(50.0)


def test_ignore_index_pixels_are_left_out():
    gt = box(0, 0, 4, 4)
    gt[4:, :] = 255
    pred = box(0, 0, 8, 4)  # the extra rows lie on ignored pixels
    result = run_metric(RISMetric(), [input_sample(pred, gt)])
    assert result['oIoU'] == pytest.approx(100.0)


def test_original_resolution_uses_pred_sem_seg_and_rle():
    ori = (6, 10)
    gt = box(1, 1, 5, 6, ori).astype(np.uint8)  # 20 pixels
    pred = box(1, 3, 5, 9, ori)  # 24 pixels, 12 shared
    rle = mask_utils.encode(np.asfortranarray(gt))
    rle_str = dict(size=rle['size'], counts=rle['counts'].decode())
    samples = []
    for r in (rle, rle_str):
        # input-size fields disagree on purpose: they must not be read
        sample = input_sample(
            box(0, 0, 8, 8), box(0, 0, 1, 1), gt_mask_rle=r, sent_id=3)
        sample.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
        samples.append(sample)
    result = run_metric(RISMetric(resolution='original'), samples)
    assert result['resolution'] == 'original'
    assert result['oIoU'] == pytest.approx(100 * 12 / 32)
    assert result['mIoU'] == pytest.approx(100 * 12 / 32)
    assert result['num_sentences'] == 2


def test_custom_thresholds():
    samples = [input_sample(p, g) for p, g, _, _ in CASES]
    result = run_metric(RISMetric(thresholds=[0.25, 0.75]), samples)
    assert result['Prec@0.25'] == pytest.approx(80.0)
    assert result['Prec@0.75'] == pytest.approx(40.0)
    assert 'Prec@0.5' not in result


def test_bad_input_is_reported_clearly():
    with pytest.raises(ValueError, match='resolution'):
        RISMetric(resolution='448')
    with pytest.raises(ValueError, match='thresholds'):
        RISMetric(thresholds=[1.5])
    metric = RISMetric()
    with pytest.raises(ValueError, match=r'shape \(8, 8\).*\(4, 4\)'):
        metric.process({}, [
            input_sample(box(0, 0, 1, 1), box(0, 0, 1, 1,
                                              (4, 4)), sent_id=7).to_dict()
        ])
    bad_pred = box(0, 0, 1, 1) * 255
    with pytest.raises(ValueError, match="input_pred_sem_seg.*sent_id=7"):
        metric.process({},
                       [input_sample(bad_pred, box(0, 0, 1, 1), sent_id=7)])
    with pytest.raises(KeyError, match='gt_mask_rle'):
        RISMetric(resolution='original').process(
            {}, [input_sample(box(0, 0, 1, 1), box(0, 0, 1, 1))])


def test_metric_through_mmengine_evaluator():
    assert METRICS.get('RISMetric') is RISMetric
    # configs run with default_scope='mmris', as the Runner sets it
    with DefaultScope.overwrite_default_scope('mmris'):
        evaluator = EVALUATOR.build(
            dict(type='Evaluator', metrics=dict(type='RISMetric')))
    samples = [input_sample(p, g) for p, g, _, _ in CASES]
    # the Evaluator converts SegDataSample to dicts itself
    evaluator.process(data_samples=samples[:3], data_batch={})
    evaluator.process(data_samples=samples[3:], data_batch={})
    result = evaluator.evaluate(len(samples))
    for key, value in expected_metrics(CASES).items():
        assert result[key] == pytest.approx(value), key


def random_cases(num, seed=0):
    """Deterministic random masks; case 0 has a large IoU-0 union, so a
    duplicated (padding) copy of it would change every metric."""
    rng = np.random.default_rng(seed)
    cases = [(box(0, 0, 0, 0), box(0, 0, 8, 8))]
    for _ in range(num - 1):
        cases.append((rng.integers(0, 2, (H, W)), rng.integers(0, 2, (H, W))))
    return cases


def _dist_worker(rank, world_size, port, num, out_file):
    dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=world_size)
    try:
        dataset = random_cases(num)
        sampler = DefaultSampler(dataset, shuffle=False)  # pads uneven ranks
        indices = list(sampler)
        with DefaultScope.overwrite_default_scope('mmris'):
            evaluator = EVALUATOR.build(
                dict(type='Evaluator', metrics=dict(type='RISMetric')))
        for start in range(0, len(indices), 2):
            batch = [
                input_sample(*dataset[i]) for i in indices[start:start + 2]
            ]
            evaluator.process(data_samples=batch, data_batch={})
        result = evaluator.evaluate(num)
        with open(f'{out_file}.{rank}', 'w') as f:
            json.dump(dict(result=result, num_local=len(indices)), f)
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_two_process_gloo_matches_one_process(tmp_path):
    num = 7  # odd: rank 1 gets a padded duplicate of sample 0
    out_file = str(tmp_path / 'result')
    mp.spawn(
        _dist_worker,
        args=(2, _free_port(), num, out_file),
        nprocs=2,
        join=True)
    single = run_metric(RISMetric(),
                        [input_sample(p, g) for p, g in random_cases(num)])
    for rank in range(2):
        with open(f'{out_file}.{rank}') as f:
            got = json.load(f)
        assert got['num_local'] == 4  # padding really happened
        assert got['result'] == pytest.approx(single)  # every rank gets it
    assert single['num_sentences'] == num


def test_no_sample_gives_zeros_not_a_perfect_score():
    result = RISMetric().compute_metrics([])
    assert result['num_sentences'] == 0
    assert result['oIoU'] == result['mIoU'] == result['Prec@0.5'] == 0.0
