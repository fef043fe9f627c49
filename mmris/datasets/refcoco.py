import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.fileio import join_path
from mmengine.utils import is_abs

from mmris.registry import DATASETS
from .masks import rle_area, segmentation_to_rle
from .refer_io import load_instances, load_refs

StrOrSeq = Union[str, Sequence[str]]


@DATASETS.register_module()
class RefCocoDataset(BaseDataset):
    """Referring segmentation dataset in the REFER format.

    Reads RefCOCO, RefCOCO+ (``refs(unc).p``), RefCOCOg (``refs(umd).p`` or
    ``refs(google).p``) and RefCLEF-style files: a refs pickle (``split_file``)
    and a COCO ``instances.json`` (``ann_file``), with the same arguments as
    mmdet 3.3's ``RefCocoDataset``. Unlike mmdet's (one sample per image),
    samples here are per ref or per sentence, as RIS training and the RIS
    evaluation protocol need.

    Sample modes (``text_mode``; mmdet's names):

    - ``'random'``: one sample per ref; ``text`` / ``sent_id`` are drawn from
      the ref's sentences with numpy's global RNG each time the sample is
      loaded (mmengine seeds every worker). The default for ``split='train'``.
    - ``'original'``: one sample per sentence. The default for other splits.
    - ``'select_first'``: one sample per ref with its first sentence.

    Several sources (the "mix" of RefCOCO + RefCOCO+ + RefCOCOg train refs):
    give lists for ``ann_file`` and ``split_file`` (and optionally ``split``),
    one entry per source. Ref and sentence ids of source ``k`` are shifted by
    the sum of ``max id + 1`` of the sources before it so they stay unique
    (the original ones are kept as ``orig_ref_id`` / ``orig_sent_ids``, with
    ``source`` = ``k``). Images and annotations are COCO's own ids, shared
    by all sources. ``exclude_images_of_splits`` drops refs whose image is
    used by those splits in any source (the datasets were split
    independently, so e.g. RefCOCOg val images can be RefCOCO train images).

    Masks are converted once, at build time, to compressed COCO RLE
    (``encode_masks=True``) and kept in the serialised data list; the
    ``LoadReferMask`` transform only decodes them.

    Args:
        data_root (str): Root of ``ann_file``, ``split_file`` and
            ``data_prefix``.
        ann_file (str | list[str]): COCO ``instances.json`` path(s).
        split_file (str | list[str]): REFER refs pickle path(s).
        data_prefix (dict): ``dict(img_path=...)``, the image folder.
        split (str | list[str]): Split name, e.g. ``'train'``, ``'val'``,
            ``'testA'``, ``'test'``; a list gives one per source.
            Defaults to ``'train'``.
        text_mode (str, optional): ``'random'``, ``'original'`` or
            ``'select_first'`` (see above). None picks ``'random'`` when
            every split is ``'train'`` and ``'original'`` otherwise.
        sentence_key (str): Which sentence field to use: ``'raw'`` (as
            typed) or ``'sent'`` (REFER's cleaned lower-case copy).
            Defaults to ``'raw'``.
        encode_masks (bool): Convert masks to compressed RLE at build time.
            False keeps the raw polygons, which ``LoadReferMask`` then
            rasterises at every load. Defaults to True.
        check_images (bool): Check at build time that every image file
            exists. Defaults to True.
        exclude_images_of_splits (Sequence[str]): Drop refs whose image
            appears in these splits of any source. Defaults to ().
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments
            (``pipeline``, ``test_mode``, ``lazy_init``, ``serialize_data``,
            ``indices`` ...).
    """

    METAINFO = dict(
        classes=('background', 'object'), palette=[[0, 0, 0], [255, 0, 0]])
    TEXT_MODES = ('random', 'original', 'select_first')
    #: Split names used by REFER files; a requested one that the file lacks
    #: is an empty split, any other name is unknown.
    REFER_SPLITS = ('train', 'val', 'test', 'testA', 'testB', 'testC')

    def __init__(self,
                 data_root: str,
                 ann_file: StrOrSeq,
                 split_file: StrOrSeq,
                 data_prefix: Dict = dict(img_path=''),
                 split: StrOrSeq = 'train',
                 text_mode: Optional[str] = None,
                 sentence_key: str = 'raw',
                 encode_masks: bool = True,
                 check_images: bool = True,
                 exclude_images_of_splits: Sequence[str] = (),
                 **kwargs) -> None:
        self.split_file = split_file
        self.split = split
        if text_mode is None:
            splits = [split] if isinstance(split, str) else list(split)
            text_mode = 'random' if all(s == 'train' for s in splits) \
                else 'original'
        if text_mode not in self.TEXT_MODES:
            raise ValueError(f'text_mode must be one of {self.TEXT_MODES} or '
                             f'None, got {text_mode!r}')
        self.text_mode = text_mode
        self.sentence_key = sentence_key
        self.encode_masks = encode_masks
        self.check_images = check_images
        self.exclude_images_of_splits = tuple(exclude_images_of_splits)
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix,
            **kwargs)

    def _join_prefix(self) -> None:
        """Join ``data_root`` to the annotation and split file(s) too."""

        def join(path):
            if path and not is_abs(path) and self.data_root:
                return join_path(self.data_root, path)
            return path

        ann_files = self.ann_file
        self.ann_file = ''  # the parent only joins a single str
        super()._join_prefix()
        if isinstance(ann_files, str):
            self.ann_file = join(ann_files)
        else:
            self.ann_file = [join(p) for p in ann_files]
        if isinstance(self.split_file, str):
            self.split_file = join(self.split_file)
        else:
            self.split_file = [join(p) for p in self.split_file]

    def _sources(self) -> List[Tuple[str, str, str]]:
        """(ann_file, split_file, split) per source."""
        anns, splits_files, splits = self.ann_file, self.split_file, \
            self.split
        if isinstance(splits_files, str) != isinstance(anns, str):
            raise ValueError('ann_file and split_file must both be a str or '
                             f'both lists, got {anns!r} and {splits_files!r}')
        if isinstance(anns, str):
            anns, splits_files = [anns], [splits_files]
        if len(anns) != len(splits_files) or not anns:
            raise ValueError(
                'ann_file and split_file need one entry per source, got '
                f'{len(anns)} and {len(splits_files)}')
        if isinstance(splits, str):
            splits = [splits] * len(anns)
        if len(splits) != len(anns):
            raise ValueError(f'split needs one entry per source '
                             f'({len(anns)}), got {splits!r}')
        return list(zip(anns, splits_files, splits))

    def load_data_list(self) -> List[dict]:
        """Build one dict per ref (``'random'``, ``'select_first'``) or per
        sentence (``'original'``)."""
        img_dir = self.data_prefix.get('img_path', '')
        if not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'image folder {img_dir!r} does not exist (expected the '
                "images of the REFER annotations, set by data_root and "
                "data_prefix=dict(img_path=...), e.g. 'train2014/')")
        sources = self._sources()
        loaded = [(load_instances(a), load_refs(s)) for a, s, _ in sources]
        excluded = set()
        for _, refs in loaded:
            excluded.update(r['image_id'] for r in refs
                            if r.get('split') in self.exclude_images_of_splits)

        data_list = []
        ref_offset = sent_offset = 0
        for k, ((ann_file, split_file, split),
                (instances, refs)) in enumerate(zip(sources, loaded)):
            present = sorted({str(r.get('split')) for r in refs})
            if split not in present and split not in self.REFER_SPLITS:
                raise ValueError(
                    f'unknown split {split!r} for {split_file!r}: the file '
                    f'has splits {present}')
            selected = [r for r in refs if r.get('split') == split]
            n_before = len(selected)
            selected = [r for r in selected if r['image_id'] not in excluded]
            if not selected:
                why = f' after excluding the images of ' \
                      f'{list(self.exclude_images_of_splits)} ' \
                      f'({n_before} refs before)' if n_before else ''
                raise ValueError(
                    f'split {split!r} of {split_file!r} is empty{why}: '
                    f'expected refs with "split": {split!r}; the file has '
                    f'splits {present}')
            data_list += self._parse_refs(selected, instances, ann_file,
                                          split_file, img_dir, k, ref_offset,
                                          sent_offset)
            ref_offset += max(r['ref_id'] for r in refs) + 1
            sent_offset += max((s['sent_id'] for r in refs
                                for s in r.get('sentences') or []),
                               default=-1) + 1
        if len(sources) == 1:
            for info in data_list:
                del info['orig_ref_id'], info['orig_sent_ids'], info['source']
        return data_list

    def _parse_refs(self, refs: List[dict], instances: dict, ann_file: str,
                    split_file: str, img_dir: str, source: int,
                    ref_offset: int, sent_offset: int) -> List[dict]:
        """Join the refs of one source with their annotations and images."""
        images = {img['id']: img for img in instances['images']}
        anns = {ann['id']: ann for ann in instances['annotations']}
        data_list, checked = [], set()
        for ref in refs:
            where = f'ref_id {ref["ref_id"]} of {split_file!r}'
            ann = anns.get(ref['ann_id'])
            img = images.get(ref['image_id'])
            if ann is None or img is None:
                missing = f'ann_id {ref["ann_id"]}' if ann is None else \
                    f'image_id {ref["image_id"]}'
                raise ValueError(f'{where}: {missing} is not in {ann_file!r}')
            img_path = join_path(img_dir, img['file_name'])
            if self.check_images and img_path not in checked:
                if not osp.isfile(img_path):
                    raise FileNotFoundError(
                        f'{where}: its image {img_path!r} (image_id '
                        f'{img["id"]}) does not exist')
                checked.add(img_path)
            sentences = ref.get('sentences') or []
            texts = [str(s.get(self.sentence_key, '')).strip()
                     for s in sentences]
            if not texts:
                raise ValueError(f'{where} has no sentences')
            sent_ids = [s['sent_id'] + sent_offset for s in sentences]
            height, width = int(img['height']), int(img['width'])
            segmentation = ann['segmentation']
            if self.encode_masks:
                segmentation = segmentation_to_rle(
                    segmentation, height, width,
                    where=f'ann_id {ann["id"]} in {ann_file!r}')
                if rle_area(segmentation) == 0:
                    raise ValueError(f'{where}: the mask of ann_id '
                                     f'{ann["id"]} is empty')
            info = dict(
                img_path=img_path,
                image_id=ref['image_id'],
                ann_id=ref['ann_id'],
                ref_id=ref['ref_id'] + ref_offset,
                category_id=ref.get('category_id', ann.get('category_id')),
                split=ref['split'],
                height=height,
                width=width,
                segmentation=segmentation,
                source=source,
                orig_ref_id=ref['ref_id'],
                orig_sent_ids=[s['sent_id'] for s in sentences])
            if self.text_mode == 'original':
                for text, sent_id in zip(texts, sent_ids):
                    data_list.append(dict(info, text=text, sent_id=sent_id))
            elif self.text_mode == 'select_first':
                data_list.append(dict(info, text=texts[0],
                                      sent_id=sent_ids[0]))
            else:
                data_list.append(dict(info, texts=texts, sent_ids=sent_ids))
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """The ``idx``-th sample; in ``'random'`` mode with ``text`` and
        ``sent_id`` drawn afresh from the ref's sentences."""
        info = super().get_data_info(idx)
        if self.text_mode == 'random':
            i = np.random.randint(len(info['texts']))
            info['text'] = info['texts'][i]
            info['sent_id'] = info['sent_ids'][i]
        return info
