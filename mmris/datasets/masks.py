"""COCO segmentations (polygons, uncompressed or compressed RLE) to masks."""
from typing import Union

import numpy as np
import pycocotools.mask as mask_utils

#: A COCO ``segmentation`` field: a list of polygons ``[[x0, y0, ...], ...]``
#: or an RLE dict ``{'size': [h, w], 'counts': list | str | bytes}``.
Segmentation = Union[list, dict]


def segmentation_to_rle(segmentation: Segmentation, height: int, width: int,
                        where: str = 'segmentation') -> dict:
    """Convert a COCO segmentation to one compressed RLE.

    Args:
        segmentation (list | dict): Polygons, uncompressed RLE (``counts``
            a list of ints) or compressed RLE (``counts`` str or bytes).
        height (int): Image height, used for polygons and uncompressed RLE.
        width (int): Image width.
        where (str): What to name in error messages, e.g.
            ``"ann_id 5 in data/refcoco/instances.json"``.

    Returns:
        dict: ``{'size': [h, w], 'counts': bytes}``.
    """
    if isinstance(segmentation, list):
        polygons = [p for p in segmentation if len(p) > 0]
        bad = [p for p in polygons if len(p) < 6 or len(p) % 2]
        if not polygons or bad:
            raise ValueError(
                f'{where}: expected a list of polygons [x0, y0, x1, y1, ...] '
                'with at least 3 points each, got '
                f'{segmentation if not bad else bad[0]!r}')
        rle = mask_utils.merge(
            mask_utils.frPyObjects([list(map(float, p)) for p in polygons],
                                   height, width))
    elif isinstance(segmentation, dict) and 'counts' in segmentation \
            and 'size' in segmentation:
        counts = segmentation['counts']
        if isinstance(counts, list):
            rle = mask_utils.frPyObjects(segmentation, *segmentation['size'])
        elif isinstance(counts, (str, bytes)):
            rle = dict(
                size=list(segmentation['size']),
                counts=counts.encode('ascii')
                if isinstance(counts, str) else counts)
        else:
            raise ValueError(
                f'{where}: RLE "counts" must be a list (uncompressed) or a '
                f'string (compressed), got {type(counts).__name__}')
        if list(rle['size']) != [height, width]:
            raise ValueError(
                f'{where}: RLE size {list(rle["size"])} does not match the '
                f'image size [{height}, {width}] (height, width)')
    else:
        raise ValueError(
            f'{where}: expected polygons (list) or an RLE dict with "size" '
            f'and "counts", got {type(segmentation).__name__}')
    return dict(size=[int(s) for s in rle['size']], counts=rle['counts'])


def decode_rle(rle: dict) -> np.ndarray:
    """Decode a compressed RLE to a uint8 ``HxW`` mask in {0, 1}."""
    return mask_utils.decode(rle)


def rle_area(rle: dict) -> int:
    """Number of foreground pixels of a compressed RLE."""
    return int(mask_utils.area(rle))
