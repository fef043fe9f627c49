"""Result tables of referring segmentation evaluations (markdown, JSON)."""
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

from mmengine.fileio import dump

#: Order of the REFER evaluation splits in tables.
SPLIT_ORDER = ('val', 'test', 'testA', 'testB', 'testC')
#: Columns of the per-split table, after the split name.
HEADERS = {'num_sentences': 'sentences', 'resolution': 'resolution'}


def eval_splits(split_file: str) -> List[str]:
    """The evaluation splits a REFER refs file holds (every split but
    ``train``), in the usual order: val, test, testA, testB, then others.

    Args:
        split_file (str): A refs pickle, e.g. ``refcoco/refs(unc).p``.

    Returns:
        list[str]: e.g. ``['val', 'testA', 'testB']`` for RefCOCO.
    """
    from mmris.datasets.refer_io import load_refs
    found = {ref['split'] for ref in load_refs(split_file)} - {'train'}
    if not found:
        raise ValueError(f'{split_file} has no evaluation split (only '
                         '"train" refs); expected val/test splits.')
    known = [s for s in SPLIT_ORDER if s in found]
    return known + sorted(found - set(known))


def _cell(value) -> str:
    return f'{value:.2f}' if isinstance(value, float) else str(value)


def _markdown(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(_cell(v) for v in row) + ' |' for row in rows]
    return '\n'.join(lines)


def split_table(results: Mapping[str, Mapping]) -> str:
    """Markdown table, one row per split, one column per metric.

    Args:
        results (dict): split -> metrics (``oIoU``, ``mIoU``, ``Prec@X``,
            ``num_sentences``, ``resolution``, in the metric's order).

    Returns:
        str: The table.
    """
    keys: List[str] = []
    for metrics in results.values():
        keys += [k for k in metrics if k not in keys]
    header = ['split'] + [HEADERS.get(k, k) for k in keys]
    rows = [[split] + [metrics.get(k, '') for k in keys]
            for split, metrics in results.items()]
    return _markdown(header, rows)


def paper_table(name: str,
                results: Mapping[str, Mapping],
                keys: Sequence[str] = ('oIoU', 'mIoU')) -> str:
    """Paper-style markdown table: one row per metric, one column per split.

    Args:
        name (str): What is evaluated (config or checkpoint name).
        results (dict): split -> metrics.
        keys (Sequence[str]): Metrics to show. Defaults to oIoU and mIoU.

    Returns:
        str: The table.
    """
    header = ['model', 'metric'] + list(results)
    rows = [[name, key] + [m.get(key, '') for m in results.values()]
            for key in keys]
    return _markdown(header, rows)


def dump_results(path: str,
                 results: Mapping[str, Mapping],
                 config: str,
                 checkpoint: str,
                 dataset: Optional[Dict] = None) -> str:
    """Write the results as JSON: ``config``, ``checkpoint``, ``dataset``
    (what was read) and ``results`` (split -> metrics).

    Args:
        path (str): Output ``.json`` file.
        results (dict): split -> metrics.
        config (str): The config file.
        checkpoint (str): The checkpoint file.
        dataset (dict, optional): e.g. ``data_root`` and ``split_file``.

    Returns:
        str: ``path``.
    """
    dump(
        dict(
            config=config,
            checkpoint=osp.abspath(checkpoint)
            if osp.exists(checkpoint) else checkpoint,
            dataset=dict(dataset or {}),
            results={k: dict(v)
                     for k, v in results.items()}),
        path,
        indent=2)
    return path
