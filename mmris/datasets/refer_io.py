"""Reading the two REFER files: ``refs(*).p`` and ``instances.json``."""
import json
import os.path as osp
import pickle
from typing import Any, List


def _fix_latin1(obj: Any) -> Any:
    """Undo a latin-1 decode of UTF-8 bytes, recursively.

    Python 2 pickles store ``str`` as raw bytes; read with
    ``encoding='latin1'`` every byte becomes one character, so UTF-8 text
    (e.g. "café") must be re-decoded. Strings that are not valid UTF-8 stay
    as latin-1.
    """
    if isinstance(obj, str):
        try:
            return obj.encode('latin1').decode('utf-8')
        except (UnicodeEncodeError, UnicodeDecodeError):
            return obj
    if isinstance(obj, list):
        return [_fix_latin1(x) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_fix_latin1(x) for x in obj)
    if isinstance(obj, dict):
        return {_fix_latin1(k): _fix_latin1(v) for k, v in obj.items()}
    return obj


def load_refs(path: str) -> List[dict]:
    """Load a REFER refs pickle (``refs(unc).p`` etc.).

    Python 3 pickles and Python 2 pickles (the originals, whose strings may
    hold non-ASCII bytes) are both accepted.

    Args:
        path (str): The pickle file.

    Returns:
        list[dict]: The refs, each with ``ref_id``, ``ann_id``, ``image_id``,
        ``split``, ``sentences`` ...
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'REFER split file {path!r} does not exist (expected a refs '
            'pickle such as "refcoco/refs(unc).p"; check data_root and '
            'split_file)')
    with open(path, 'rb') as f:
        data = f.read()
    try:
        refs = pickle.loads(data)
    except UnicodeDecodeError:
        refs = _fix_latin1(pickle.loads(data, encoding='latin1'))
    except Exception as e:
        raise ValueError(f'REFER split file {path!r} is not a readable '
                         f'pickle of refs: {e}') from e
    if not isinstance(refs, list) or not all(
            isinstance(r, dict) for r in refs):
        raise ValueError(f'REFER split file {path!r}: expected a list of ref '
                         f'dicts, got {type(refs).__name__}')
    return refs


def load_instances(path: str) -> dict:
    """Load a COCO-format ``instances.json`` and check its top-level keys.

    Args:
        path (str): The json file.

    Returns:
        dict: With at least ``images`` and ``annotations`` lists.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'REFER annotation file {path!r} does not exist (expected a '
            'COCO-format "instances.json"; check data_root and ann_file)')
    try:
        with open(path, 'r', encoding='utf-8') as f:
            instances = json.load(f)
    except ValueError as e:
        raise ValueError(
            f'REFER annotation file {path!r} is not valid JSON: {e}') from e
    missing = [
        k for k in ('images', 'annotations')
        if not isinstance(instances, dict) or k not in instances
    ]
    if missing:
        raise ValueError(f'REFER annotation file {path!r}: expected a COCO '
                         f'dict with keys {missing}')
    return instances
