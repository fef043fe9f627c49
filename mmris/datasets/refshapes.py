"""RefShapes: a generated referring-segmentation dataset in REFER format.

Each image shows coloured shapes of several kinds and sizes on a textured
background. Each ref picks one object and describes it with sentences that
single it out (exactly one object satisfies each) by colour, shape, size,
position or its relation to another object. Scenes are sampled so that the
referred object has distractors sharing its colour or its shape, and every
image has several refs to different objects: a model that ignores the text
cannot tell which object is meant.

Splits ``train``, ``val``, ``testA``, ``testB``. As RefCOCO's testA
(people) / testB (other objects), testA refs all refer to round shapes
(supercategory ``'round'``: circle, oval) and testB refs to angular ones;
train and val refs refer to any shape.

Files (the layout mmdet uses for RefCOCO, rooted at ``out_dir``)::

    out_dir/instances.json   COCO: images, annotations (polygons), categories
    out_dir/refs(unc).p      REFER refs pickle
    out_dir/images/*.jpg

Everything is a function of ``seed``: image ``i`` of split ``s`` is drawn from
``numpy.random.default_rng([seed, s, i])``, so changing the number of
images of one split leaves the others untouched.
"""
import json
import os
import os.path as osp
import pickle
from dataclasses import dataclass
from itertools import combinations
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils

COLOURS = {  # RGB
    'red': (215, 35, 35),
    'green': (35, 165, 60),
    'blue': (35, 75, 215),
    'yellow': (240, 210, 30),
    'purple': (135, 55, 185),
    'orange': (250, 135, 25),
    'white': (245, 245, 245),
    'black': (25, 25, 25),
}
#: shape name -> supercategory; category ids follow this order (1-based).
SHAPES = {
    'circle': 'round',
    'square': 'angular',
    'triangle': 'angular',
    'oval': 'round',
    'diamond': 'angular',
    'star': 'angular',
    'hexagon': 'angular',
}
#: size class -> radius range as a fraction of min(width, height).
SIZES = {
    'small': (0.06, 0.075),
    'medium': (0.095, 0.115),
    'large': (0.14, 0.17),
}
SIZE_RANK = {'small': 0, 'medium': 1, 'large': 2}
SPLITS = ('train', 'val', 'testA', 'testB')

#: What each level draws and says. ``kinds`` weighs the description kinds.
LEVELS = {
    'easy':
    dict(
        num_objects=(2, 3),
        colours=('red', 'green', 'blue', 'yellow'),
        shapes=('circle', 'square', 'triangle'),
        sizes=('medium', 'large'),
        twins=False,
        refs_per_image=2,
        kinds=dict(attr=1.0)),
    'medium':
    dict(
        num_objects=(3, 5),
        colours=('red', 'green', 'blue', 'yellow', 'purple', 'orange'),
        shapes=('circle', 'square', 'triangle', 'oval', 'star'),
        sizes=('small', 'large'),
        twins=True,
        refs_per_image=2,
        kinds=dict(attr=1.0, position=1.0, size=1.0)),
    'hard':
    dict(
        num_objects=(5, 8),
        colours=tuple(COLOURS),
        shapes=tuple(SHAPES),
        sizes=tuple(SIZES),
        twins=True,
        refs_per_image=3,
        kinds=dict(attr=0.5, position=1.0, size=1.0, relation=2.0)),
}
ATTRS = ('size', 'colour', 'shape')
DIRECTIONS = ('left', 'right', 'top', 'bottom')


@dataclass
class Obj:
    """One drawn shape."""
    colour: str
    shape: str
    size: str
    cx: float
    cy: float
    r: float
    angle: float

    def attr(self, name: str) -> str:
        return getattr(self, name)


@dataclass(frozen=True)
class Description:
    """A structured referring expression.

    ``kind`` is ``'attr'`` (objects with ``attrs``), ``'position'`` (the one
    of them furthest in ``extra`` = a direction), ``'size'`` (the biggest /
    smallest of them, ``extra`` = ``'big'`` or ``'small'``) or ``'relation'``
    (the one of them ``extra`` = direction of the single object matching
    ``anchor``).
    """
    kind: str
    attrs: Tuple[Tuple[str, str], ...]
    extra: str = ''
    anchor: Tuple[Tuple[str, str], ...] = ()


def _matches(objs: Sequence[Obj], attrs) -> List[int]:
    return [
        i for i, o in enumerate(objs) if all(o.attr(k) == v for k, v in attrs)
    ]


def _coord(o: Obj, direction: str) -> float:
    """Larger is further in ``direction``."""
    return {
        'left': -o.cx,
        'right': o.cx,
        'top': -o.cy,
        'bottom': o.cy
    }[direction]


def resolve(desc: Description, objs: Sequence[Obj]) -> List[int]:
    """Indices of the objects a description clearly applies to.

    Positions and relations need a margin of the object's radius; a
    description is unambiguous when this returns one index and no other
    candidate even loosely (without margin) satisfies it, see
    :func:`is_unambiguous`.
    """
    cand = _matches(objs, desc.attrs)
    if desc.kind == 'attr':
        return cand
    if desc.kind == 'position':
        return [
            i for i in cand if all(
                _coord(objs[i], desc.extra) - objs[i].r > _coord(
                    objs[j], desc.extra) for j in cand if j != i)
        ]
    if desc.kind == 'size':
        sign = 1 if desc.extra == 'big' else -1
        return [
            i for i in cand
            if all(sign * SIZE_RANK[objs[i].size] > sign *
                   SIZE_RANK[objs[j].size] for j in cand if j != i)
        ]
    anchors = _matches(objs, desc.anchor)
    if len(anchors) != 1:
        return []
    a = objs[anchors[0]]
    return [
        i for i in cand if i != anchors[0] and _coord(objs[i], desc.extra) -
        (objs[i].r + a.r) / 2 > _coord(a, desc.extra)
    ]


def is_unambiguous(desc: Description, objs: Sequence[Obj],
                   target: int) -> bool:
    """True when exactly ``target`` satisfies ``desc``, with a margin."""
    if resolve(desc, objs) != [target]:
        return False
    if desc.kind != 'relation':
        return True
    a = objs[_matches(objs, desc.anchor)[0]]
    loose = [
        i for i in _matches(objs, desc.attrs)
        if objs[i] is not a and _coord(objs[i], desc.extra) > _coord(
            a, desc.extra)
    ]
    return loose == [target]


def descriptions(objs: Sequence[Obj], target: int,
                 level: dict) -> List[Description]:
    """Every unambiguous description of ``objs[target]`` the level allows."""
    t = objs[target]
    allowed = [a for a in ATTRS if a != 'size' or 'size' in level['kinds']]
    subsets = [
        tuple((a, t.attr(a)) for a in sub) for n in range(len(allowed) + 1)
        for sub in combinations(allowed, n)
    ]
    found = []
    for attrs in subsets:
        cands = []
        if attrs:
            cands.append(Description('attr', attrs))
        if len(_matches(objs, attrs)) >= 2:
            if 'position' in level['kinds']:
                cands += [Description('position', attrs, d)
                          for d in DIRECTIONS]
            if 'size' in level['kinds'] and 'size' not in dict(attrs):
                cands += [Description('size', attrs, s)
                          for s in ('big', 'small')]
        if 'relation' in level['kinds'] and attrs and \
                len(_matches(objs, attrs)) >= 2:
            for j, a in enumerate(objs):
                if j == target:
                    continue
                anchor = next(
                    (sub for sub in (tuple((k, a.attr(k)) for k in s)
                                     for s in (('colour', 'shape'),
                                               ('shape', ), ('colour', ),
                                               ('size', 'colour', 'shape')))
                     if _matches(objs, sub) == [j]), None)
                if anchor:
                    cands += [Description('relation', attrs, d, anchor)
                              for d in DIRECTIONS]
        found += [d for d in cands if is_unambiguous(d, objs, target)]
    return found


SIZE_WORDS = {
    'small': ('small', 'little'),
    'medium': ('medium', 'medium-sized'),
    'large': ('big', 'large'),
}
GENERIC_NOUNS = ('shape', 'object')
POSITION_WORDS = {  # (two candidates: suffix, prefix), (more: superlative)
    'left': (('on the left', 'left'), ('leftmost', 'furthest left')),
    'right': (('on the right', 'right'), ('rightmost', 'furthest right')),
    'top': (('at the top', 'upper'), ('topmost', 'highest')),
    'bottom': (('at the bottom', 'lower'), ('lowest', 'bottommost')),
}
SIZE_REL_WORDS = {
    'big': (('bigger', 'larger'), ('biggest', 'largest')),
    'small': (('smaller', ), ('smallest', )),
}
RELATION_WORDS = {
    'left': ('to the left of', 'left of'),
    'right': ('to the right of', 'right of'),
    'top': ('above', 'over'),
    'bottom': ('below', 'under'),
}


def _noun_phrase(attrs, rng: np.random.Generator) -> str:
    a = dict(attrs)
    words = []
    if 'size' in a:
        words.append(rng.choice(SIZE_WORDS[a['size']]))
    if 'colour' in a:
        words.append(a['colour'])
    words.append(a['shape'] if 'shape' in a else rng.choice(GENERIC_NOUNS))
    return ' '.join(words)


def render(desc: Description, objs: Sequence[Obj],
           rng: np.random.Generator) -> str:
    """One English sentence for a description (templates drawn by rng)."""
    the = 'the ' if rng.random() < 0.8 else ''
    noun = _noun_phrase(desc.attrs, rng)
    a = dict(desc.attrs)
    if desc.kind == 'attr':
        if 'colour' in a and 'shape' in a and rng.random() < 0.25:
            rest = dict(desc.attrs)
            colour = rest.pop('colour')
            return f'{the}{_noun_phrase(tuple(rest.items()), rng)} ' \
                   f'that is {colour}'
        return the + noun
    if desc.kind == 'relation':
        rel = rng.choice(RELATION_WORDS[desc.extra])
        return f'{the}{noun} {rel} the {_noun_phrase(desc.anchor, rng)}'
    two = len(_matches(objs, desc.attrs)) == 2
    if desc.kind == 'position':
        pair, superl = POSITION_WORDS[desc.extra]
        if two:
            return f'{the}{noun} {pair[0]}' if rng.random() < 0.5 else \
                f'{the}{pair[1]} {noun}'
        word = rng.choice(superl)
        return f'{the}{word} {noun}'
    comp, superl = SIZE_REL_WORDS[desc.extra]
    return f'{the}{rng.choice(comp if two else superl)} {noun}'


def shape_polygon(o: Obj, n_circle: int = 32) -> np.ndarray:
    """Vertices ``[N, 2]`` (x, y) of a shape."""
    if o.shape in ('circle', 'oval'):
        t = np.linspace(0, 2 * np.pi, n_circle, endpoint=False)
        rx, ry = (o.r, o.r) if o.shape == 'circle' else (o.r, 0.6 * o.r)
        pts = np.stack([rx * np.cos(t), ry * np.sin(t)], 1)
    elif o.shape == 'star':
        t = np.arange(10) * np.pi / 5 - np.pi / 2
        rad = np.where(np.arange(10) % 2 == 0, o.r, 0.45 * o.r)
        pts = np.stack([rad * np.cos(t), rad * np.sin(t)], 1)
    else:
        n, start, sx = dict(
            square=(4, np.pi / 4, 1.0),
            triangle=(3, -np.pi / 2, 1.0),
            diamond=(4, 0.0, 0.7),
            hexagon=(6, 0.0, 1.0))[o.shape]
        t = start + np.arange(n) * 2 * np.pi / n
        pts = np.stack([sx * o.r * np.cos(t), o.r * np.sin(t)], 1)
    c, s = np.cos(o.angle), np.sin(o.angle)
    pts = pts @ np.array([[c, s], [-s, c]])
    return pts + np.array([o.cx, o.cy])


def _draw_attributes(rng: np.random.Generator, level: dict,
                     n: int) -> Optional[List[Tuple[str, str]]]:
    """(colour, shape) per object; most share one with an earlier one."""
    colours, shapes = level['colours'], level['shapes']
    out = [(rng.choice(colours), rng.choice(shapes))]
    for _ in range(n - 1):
        for _ in range(50):
            c, s = out[rng.integers(len(out))]
            if rng.random() < 0.5:
                s = rng.choice([x for x in shapes if x != s])
            else:
                c = rng.choice([x for x in colours if x != c])
            if rng.random() < 0.2:
                c, s = rng.choice(colours), rng.choice(shapes)
            if level['twins'] or (c, s) not in out:
                break
        else:
            return None
        out.append((c, s))
    return [(str(c), str(s)) for c, s in out]


def _place(rng: np.random.Generator, level: dict, width: int,
           height: int) -> Optional[List[Obj]]:
    """Sample a scene of non-overlapping objects, or None on failure."""
    n = int(rng.integers(level['num_objects'][0],
                         level['num_objects'][1] + 1))
    attrs = _draw_attributes(rng, level, n)
    if attrs is None:
        return None
    side = min(width, height)
    gap = 0.03 * side
    objs: List[Obj] = []
    for colour, shape in attrs:
        size = str(rng.choice(level['sizes']))
        r = rng.uniform(*SIZES[size]) * side
        for _ in range(100):
            cx = rng.uniform(r + 1, width - r - 1)
            cy = rng.uniform(r + 1, height - r - 1)
            if all(np.hypot(cx - o.cx, cy - o.cy) > r + o.r + gap
                   for o in objs):
                break
        else:
            return None
        objs.append(
            Obj(colour, shape, size, cx, cy, r,
                rng.uniform(-0.2, 0.2)))
    return objs


def _background(rng: np.random.Generator, width: int, height: int,
                noise: float) -> np.ndarray:
    """A smooth random grey-brown texture with noise (RGB uint8)."""
    coarse = rng.uniform(95, 170, size=(3, 4, 1)) + rng.uniform(
        -12, 12, size=(1, 1, 3))
    img = cv2.resize(coarse.astype(np.float32), (width, height),
                     interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, noise, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _scene(rng: np.random.Generator, level: dict, width: int, height: int,
           split: str, max_tries: int = 1000):
    """A scene and its targets with their descriptions."""
    for _ in range(max_tries):
        objs = _place(rng, level, width, height)
        if objs is None:
            continue
        cands = []
        for i, o in enumerate(objs):
            if split in ('testA', 'testB') and \
                    (SHAPES[o.shape] == 'round') != (split == 'testA'):
                continue
            if not any(p.colour == o.colour or p.shape == o.shape
                       for j, p in enumerate(objs) if j != i):
                continue  # no distractor sharing colour or shape
            descs = descriptions(objs, i, level)
            if descs:
                cands.append((i, descs))
        if cands:
            return objs, cands
    raise RuntimeError(f'could not sample a {split} scene in {max_tries} '
                       'tries: the image is too small for the level')


def _sentences(rng: np.random.Generator, descs: List[Description],
               objs: Sequence[Obj], level: dict, num: int) -> List[str]:
    """``num`` sentences, distinct where possible, kinds weighted."""
    weights = np.array([level['kinds'][d.kind] for d in descs])
    order = rng.choice(
        len(descs), size=len(descs), replace=False, p=weights / weights.sum())
    out: List[str] = []
    for k in range(num * 4):
        text = render(descs[order[k % len(order)]], objs, rng)
        if text not in out or k >= num * 3:
            out.append(text)
        if len(out) == num:
            break
    return out


def _to_sentence(raw: str, sent_id: int) -> dict:
    sent = raw.lower()
    return dict(sent_id=sent_id, raw=raw, sent=sent, tokens=sent.split())


def generate_refshapes(out_dir: str,
                       num_images: Optional[Dict[str, int]] = None,
                       level: str = 'easy',
                       width: int = 640,
                       height: int = 480,
                       seed: int = 0,
                       sentences_per_ref: int = 3,
                       refs_per_image: Optional[int] = None,
                       jpeg_quality: int = 90,
                       noise: float = 5.0,
                       split_file: str = 'refs(unc).p') -> dict:
    """Write a RefShapes dataset in the REFER format.

    Args:
        out_dir (str): Output folder (created).
        num_images (dict, optional): Images per split, keys from
            ``train``, ``val``, ``testA``, ``testB``. Defaults to
            ``dict(train=400, val=100, testA=50, testB=50)``.
        level (str): ``'easy'`` (2-3 large objects, colour/shape
            expressions), ``'medium'`` (3-5 objects, two sizes, position and
            size words) or ``'hard'`` (5-8 objects, three sizes, relations).
        width (int): Image width. Defaults to 640.
        height (int): Image height. Defaults to 480.
        seed (int): Seed of everything. Defaults to 0.
        sentences_per_ref (int): Sentences per ref. Defaults to 3.
        refs_per_image (int, optional): Refs per image (at most; fewer when
            fewer objects can be referred to). None uses the level's.
        jpeg_quality (int): JPEG quality. Defaults to 90.
        noise (float): Std of the background's pixel noise. 5 gives ~55 KB
            JPEGs at 640x480; 25 gives ~160 KB, the average size (and so
            about the decoding cost) of a COCO train2014 photo. Defaults
            to 5.
        split_file (str): Name of the refs pickle. Defaults to
            ``'refs(unc).p'``.

    Returns:
        dict: Counts of images, refs and sentences per split.
    """
    if level not in LEVELS:
        raise ValueError(f'level must be one of {list(LEVELS)}, got {level!r}')
    num_images = dict(train=400, val=100, testA=50, testB=50) \
        if num_images is None else dict(num_images)
    unknown = set(num_images) - set(SPLITS)
    if unknown:
        raise ValueError(f'num_images: unknown splits {sorted(unknown)}, '
                         f'expected keys from {SPLITS}')
    cfg = LEVELS[level]
    refs_per_image = refs_per_image or cfg['refs_per_image']
    os.makedirs(osp.join(out_dir, 'images'), exist_ok=True)
    images, annotations, refs = [], [], []
    counts, num_sentences = {}, 0
    for split_idx, split in enumerate(SPLITS):
        n_refs = n_sents = 0
        for i in range(num_images.get(split, 0)):
            rng = np.random.default_rng([seed, split_idx, i])
            objs, cands = _scene(rng, cfg, width, height, split)
            image_id = len(images) + 1
            file_name = f'refshapes_{image_id:012d}.jpg'
            images.append(
                dict(id=image_id, file_name=file_name, height=height,
                     width=width))
            img = _background(rng, width, height, noise)
            ann_ids = []
            for o in objs:
                poly = shape_polygon(o)
                colour = np.clip(
                    np.array(COLOURS[o.colour]) + rng.integers(-12, 13, 3),
                    0, 255)
                cv2.fillPoly(img, [np.round(poly * 8).astype(np.int32)],
                             tuple(int(c) for c in colour), cv2.LINE_AA, 3)
                seg = [[round(float(v), 2) for v in poly.reshape(-1)]]
                rle = mask_utils.merge(
                    mask_utils.frPyObjects(seg, height, width))
                x0, y0 = poly.min(0)
                x1, y1 = poly.max(0)
                ann_ids.append(len(annotations) + 1)
                annotations.append(
                    dict(
                        id=ann_ids[-1],
                        image_id=image_id,
                        category_id=list(SHAPES).index(o.shape) + 1,
                        segmentation=seg,
                        area=float(mask_utils.area(rle)),
                        bbox=[round(float(v), 2)
                              for v in (x0, y0, x1 - x0, y1 - y0)],
                        iscrowd=0,
                        attributes=dict(colour=o.colour, shape=o.shape,
                                        size=o.size)))
            cv2.imwrite(
                osp.join(out_dir, 'images', file_name),
                cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
            chosen = rng.choice(
                len(cands), size=min(refs_per_image, len(cands)),
                replace=False)
            for c in sorted(chosen):
                target, descs = cands[c]
                texts = _sentences(rng, descs, objs, cfg, sentences_per_ref)
                sents = [
                    _to_sentence(
                        t[0].upper() + t[1:] if rng.random() < 0.3 else t,
                        num_sentences + k) for k, t in enumerate(texts)
                ]
                num_sentences += len(sents)
                refs.append(
                    dict(
                        ref_id=len(refs),
                        ann_id=ann_ids[target],
                        image_id=image_id,
                        split=split,
                        category_id=list(SHAPES).index(objs[target].shape) +
                        1,
                        sent_ids=[s['sent_id'] for s in sents],
                        sentences=sents,
                        file_name=f'{file_name[:-4]}_{ann_ids[target]}.jpg'))
                n_refs += 1
                n_sents += len(sents)
        counts[split] = dict(
            images=num_images.get(split, 0), refs=n_refs, sentences=n_sents)
    instances = dict(
        info=dict(
            description='RefShapes (generated by mmris)',
            level=level,
            seed=seed,
            noise=noise),
        images=images,
        annotations=annotations,
        categories=[
            dict(id=k + 1, name=name, supercategory=sup)
            for k, (name, sup) in enumerate(SHAPES.items())
        ])
    with open(osp.join(out_dir, 'instances.json'), 'w') as f:
        json.dump(instances, f)
    with open(osp.join(out_dir, split_file), 'wb') as f:
        pickle.dump(refs, f, protocol=2)
    return counts
