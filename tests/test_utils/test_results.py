"""Result tables and the evaluation splits of a REFER file."""
import json

import pytest

from mmris.datasets.refshapes import generate_refshapes
from mmris.utils import dump_results, eval_splits, paper_table, split_table

METRICS = dict(
    oIoU=76.4912,
    mIoU=78.0,
    **{'Prec@0.5': 90.0},
    num_sentences=10834,
    resolution='input')


def test_eval_splits_of_a_refs_file(tmp_path):
    generate_refshapes(
        str(tmp_path), num_images=dict(train=1, val=1, testA=1, testB=1),
        width=64, height=48)
    assert eval_splits(str(tmp_path / 'refs(unc).p')) == [
        'val', 'testA', 'testB'
    ]


def test_eval_splits_needs_an_evaluation_split(tmp_path):
    generate_refshapes(
        str(tmp_path), num_images=dict(train=1, val=0, testA=0, testB=0),
        width=64, height=48)
    with pytest.raises(ValueError, match='no evaluation split'):
        eval_splits(str(tmp_path / 'refs(unc).p'))


def test_tables():
    results = dict(val=METRICS, testA=dict(METRICS, oIoU=79.0))
    assert split_table(results).splitlines() == [
        '| split | oIoU | mIoU | Prec@0.5 | sentences | resolution |',
        '|---|---|---|---|---|---|',
        '| val | 76.49 | 78.00 | 90.00 | 10834 | input |',
        '| testA | 79.00 | 78.00 | 90.00 | 10834 | input |',
    ]
    assert paper_table('maskris', results).splitlines() == [
        '| model | metric | val | testA |',
        '|---|---|---|---|',
        '| maskris | oIoU | 76.49 | 79.00 |',
        '| maskris | mIoU | 78.00 | 78.00 |',
    ]


def test_dump_results(tmp_path):
    path = dump_results(
        str(tmp_path / 'r.json'), dict(val=METRICS), 'cfg.py',
        'missing.pth', dict(split_file='refs(unc).p'))
    with open(path) as f:
        assert json.load(f) == dict(
            config='cfg.py',
            checkpoint='missing.pth',
            dataset=dict(split_file='refs(unc).p'),
            results=dict(val=METRICS))
