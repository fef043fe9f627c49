import json
import os.path as osp
import pickle
import subprocess
import sys
from collections import defaultdict

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest

from mmris.datasets.refshapes import (COLOURS, SHAPES, SIZE_WORDS,
                                      Description, Obj, descriptions,
                                      generate_refshapes, is_unambiguous)

REPO = osp.join(osp.dirname(__file__), '..', '..')
SMALL = dict(train=4, val=2, testA=2, testB=2)
#: words that make a sentence more than a list of attributes
SPATIAL = {
    'left', 'right', 'top', 'bottom', 'upper', 'lower', 'leftmost',
    'rightmost', 'topmost', 'highest', 'lowest', 'bottommost', 'furthest',
    'above', 'below', 'over', 'under', 'bigger', 'larger', 'smaller',
    'biggest', 'largest', 'smallest'
}


def load(root):
    with open(osp.join(root, 'instances.json')) as f:
        instances = json.load(f)
    with open(osp.join(root, 'refs(unc).p'), 'rb') as f:
        refs = pickle.load(f)
    return instances, refs


def objects_by_image(instances):
    out = defaultdict(list)
    for ann in instances['annotations']:
        out[ann['image_id']].append(ann)
    return out


@pytest.fixture(scope='module', params=['easy', 'medium', 'hard'])
def generated(request, tmp_path_factory):
    root = str(tmp_path_factory.mktemp(request.param))
    counts = generate_refshapes(
        root,
        num_images=dict(train=12, val=3, testA=3, testB=3),
        level=request.param,
        width=96,
        height=72,
        seed=3)
    return request.param, root, counts


def test_refer_format(generated):
    _, root, counts = generated
    instances, refs = load(root)
    images = {i['id']: i for i in instances['images']}
    anns = {a['id']: a for a in instances['annotations']}
    assert [c['name'] for c in instances['categories']] == list(SHAPES)
    assert {r['split'] for r in refs} == {'train', 'val', 'testA', 'testB'}
    for split, c in counts.items():
        assert c['refs'] == sum(r['split'] == split for r in refs)
    assert len({r['ref_id'] for r in refs}) == len(refs)
    all_sent_ids = [s['sent_id'] for r in refs for s in r['sentences']]
    assert len(set(all_sent_ids)) == len(all_sent_ids)
    for ref in refs:
        assert set(ref) == {
            'ref_id', 'ann_id', 'image_id', 'split', 'category_id',
            'sentences', 'sent_ids', 'file_name'
        }
        ann, img = anns[ref['ann_id']], images[ref['image_id']]
        assert ann['image_id'] == img['id']
        assert ref['category_id'] == ann['category_id']
        # REFER's file_name is the image name with the ann id appended
        assert ref['file_name'] == img['file_name'][:-4] + \
            f'_{ann["id"]}.jpg'
        assert ref['sent_ids'] == [s['sent_id'] for s in ref['sentences']]
        assert len(ref['sentences']) == 3
        for s in ref['sentences']:
            assert set(s) == {'sent_id', 'sent', 'raw', 'tokens'}
            assert s['sent'] == s['raw'].lower()
            assert s['tokens'] == s['sent'].split()
    for ann in instances['annotations']:
        assert ann['iscrowd'] == 0 and ann['area'] > 0
        assert len(ann['bbox']) == 4
        poly = ann['segmentation'][0]
        assert len(poly) >= 6 and len(poly) % 2 == 0
    for img in instances['images']:
        assert osp.isfile(osp.join(root, 'images', img['file_name']))
        assert (img['width'], img['height']) == (96, 72)


def test_attribute_sentences_are_unambiguous(generated):
    """Read every sentence without spatial words independently: exactly one
    object of its image has all the attributes it names."""
    level, root, _ = generated
    instances, refs = load(root)
    objs = objects_by_image(instances)
    size_of = {w: s for s, words in SIZE_WORDS.items() for w in words}
    checked = 0
    for ref in refs:
        for s in ref['sentences']:
            words = set(s['tokens']) | set(s['sent'].replace('-', ' ').split())
            if words & SPATIAL:
                continue
            named = dict(
                colour={w for w in words if w in COLOURS},
                shape={w for w in words if w in SHAPES},
                size={size_of[w] for w in words if w in size_of})
            assert named['colour'] or named['shape'] or named['size'], s
            hits = [
                a['id'] for a in objs[ref['image_id']]
                if all(a['attributes'][k] in v for k, v in named.items() if v)
            ]
            assert hits == [ref['ann_id']], (s['raw'], hits)
            checked += 1
    assert checked > len(refs) // 2 if level != 'hard' else checked > 0


def test_targets_have_distractors_and_images_several_refs(generated):
    level, root, _ = generated
    instances, refs = load(root)
    objs = objects_by_image(instances)
    anns = {a['id']: a for a in instances['annotations']}
    refs_per_image = defaultdict(set)
    for ref in refs:
        t = anns[ref['ann_id']]['attributes']
        others = [
            a['attributes'] for a in objs[ref['image_id']]
            if a['id'] != ref['ann_id']
        ]
        assert any(o['colour'] == t['colour'] or o['shape'] == t['shape']
                   for o in others)
        refs_per_image[ref['image_id']].add(ref['ann_id'])
    train = [
        len(v) for k, v in refs_per_image.items()
        if any(r['image_id'] == k and r['split'] == 'train' for r in refs)
    ]
    assert np.mean(train) >= 1.5  # several objects referred per image
    n_objs = [len(v) for v in objs.values()]
    lo, hi = dict(easy=(2, 3), medium=(3, 5), hard=(5, 8))[level]
    assert lo <= min(n_objs) and max(n_objs) <= hi


def test_test_a_refers_to_round_and_test_b_to_angular_shapes(generated):
    _, root, _ = generated
    instances, refs = load(root)
    anns = {a['id']: a for a in instances['annotations']}
    for ref in refs:
        group = SHAPES[anns[ref['ann_id']]['attributes']['shape']]
        if ref['split'] == 'testA':
            assert group == 'round'
        elif ref['split'] == 'testB':
            assert group == 'angular'


def test_only_harder_levels_use_size_and_position_words(generated):
    level, root, _ = generated
    _, refs = load(root)
    spatial = [
        bool(set(s['tokens']) & SPATIAL) for ref in refs
        for s in ref['sentences']
    ]
    if level == 'easy':
        assert not any(spatial)  # colour and shape only
    else:
        assert any(spatial)


def test_masks_cover_the_drawn_shapes(tmp_path):
    root = str(tmp_path)
    generate_refshapes(root, dict(train=3), width=160, height=120, seed=5)
    instances, _ = load(root)
    for img_info in instances['images']:
        img = cv2.imread(osp.join(root, 'images', img_info['file_name']))
        for ann in objects_by_image(instances)[img_info['id']]:
            mask = mask_utils.decode(
                mask_utils.merge(
                    mask_utils.frPyObjects(ann['segmentation'], 120, 160)))
            inner = cv2.erode(mask, np.ones((5, 5), np.uint8)).astype(bool)
            mean_rgb = img[inner][:, ::-1].mean(0)
            expected = np.array(COLOURS[ann['attributes']['colour']])
            assert np.abs(mean_rgb - expected).max() < 30


def test_deterministic_from_seed(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    generate_refshapes(a, SMALL, width=64, height=48, seed=7)
    generate_refshapes(b, SMALL, width=64, height=48, seed=7)
    generate_refshapes(c, SMALL, width=64, height=48, seed=8)
    for name in ('instances.json', 'refs(unc).p',
                 'images/refshapes_000000000001.jpg'):
        with open(osp.join(a, name), 'rb') as fa, \
                open(osp.join(b, name), 'rb') as fb, \
                open(osp.join(c, name), 'rb') as fc:
            data = fa.read()
            assert data == fb.read()
            assert data != fc.read()


def test_split_content_does_not_depend_on_other_split_sizes(tmp_path):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    generate_refshapes(a, dict(train=2, val=2), width=64, height=48)
    generate_refshapes(b, dict(train=5, val=2), width=64, height=48)
    val = [[s['raw'] for s in r['sentences']] for r in load(a)[1]
           if r['split'] == 'val']
    assert val == [[s['raw'] for s in r['sentences']] for r in load(b)[1]
                   if r['split'] == 'val']


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="level must be one of .*'extreme'"):
        generate_refshapes(str(tmp_path), SMALL, level='extreme')
    with pytest.raises(ValueError, match=r"unknown splits \['test'\]"):
        generate_refshapes(str(tmp_path), dict(test=2))


def test_positions_and_relations_are_checked_for_ambiguity():
    red_l = Obj('red', 'circle', 'large', 20, 50, 8, 0)
    red_r = Obj('red', 'circle', 'large', 80, 50, 8, 0)
    blue = Obj('blue', 'square', 'large', 50, 50, 8, 0)
    objs = [red_l, red_r, blue]
    attrs = (('colour', 'red'), ('shape', 'circle'))
    left = Description('position', attrs, 'left')
    assert is_unambiguous(left, objs, 0)
    assert not is_unambiguous(Description('attr', attrs), objs, 0)
    rel = Description('relation', attrs, 'left', (('colour', 'blue'), ))
    assert is_unambiguous(rel, objs, 0)
    assert not is_unambiguous(rel, objs, 1)
    # too close to tell left from right: no positional description
    near = [red_l, Obj('red', 'circle', 'large', 24, 20, 8, 0), blue]
    assert not is_unambiguous(left, near, 0)
    level = dict(kinds=dict(attr=1, position=1, relation=1))
    assert all(is_unambiguous(d, objs, 0) for d in descriptions(objs, 0,
                                                                level))
    assert left in descriptions(objs, 0, level)


def test_command_line(tmp_path):
    out = str(tmp_path / 'rs')
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'data', 'generate_refshapes.py'), out,
        '--level', 'medium', '--num-train', '2', '--num-val', '1',
        '--num-test', '1', '--width', '64', '--height', '48'
    ],
                          capture_output=True,
                          text=True,
                          check=True)
    assert 'train  images      2' in proc.stdout
    instances, refs = load(out)
    assert len(instances['images']) == 5
    assert instances['info']['level'] == 'medium'
