import json
import os
import os.path as osp
import pickle
import struct

import numpy as np
import pycocotools.mask as mask_utils
import pytest


def read_refs(root, name='refs(unc).p'):
    with open(osp.join(root, name), 'rb') as f:
        return pickle.load(f)


def write_refs(root, refs, name='refs(unc).p'):
    with open(osp.join(root, name), 'wb') as f:
        pickle.dump(refs, f, protocol=2)


def test_train_has_one_sample_per_ref(refshapes_root, make_dataset):
    refs = [r for r in read_refs(refshapes_root) if r['split'] == 'train']
    ds = make_dataset(refshapes_root, 'train')
    assert ds.text_mode == 'random'
    assert len(ds) == len(refs)
    assert sorted(ds.get_data_info(i)['ref_id']
                  for i in range(len(ds))) == sorted(r['ref_id']
                                                     for r in refs)
    info = ds.get_data_info(0)
    ref = next(r for r in refs if r['ref_id'] == info['ref_id'])
    assert info['texts'] == [s['raw'] for s in ref['sentences']]
    assert info['sent_ids'] == ref['sent_ids']
    assert info['text'] in info['texts']
    assert info['texts'].index(info['text']) == info['sent_ids'].index(
        info['sent_id'])
    assert info['img_path'] == osp.join(refshapes_root, 'images',
                                        f'refshapes_{info["image_id"]:012d}'
                                        '.jpg')


@pytest.mark.parametrize('split', ['val', 'testA', 'testB'])
def test_eval_has_one_sample_per_sentence(refshapes_root, make_dataset,
                                          split):
    refs = [r for r in read_refs(refshapes_root) if r['split'] == split]
    ds = make_dataset(refshapes_root, split)
    assert ds.text_mode == 'original'
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    expected = {(s['sent_id'], s['raw'], r['ref_id'])
                for r in refs for s in r['sentences']}
    assert len(infos) == len(expected)
    assert {(i['sent_id'], i['text'], i['ref_id']) for i in infos} == expected
    assert all('texts' not in i for i in infos)


def test_train_sentence_is_redrawn_at_each_load(refshapes_root,
                                                make_dataset):
    ds = make_dataset(refshapes_root, 'train')
    idx = next(i for i in range(len(ds))
               if len(set(ds.get_data_info(i)['texts'])) == 3)
    np.random.seed(0)
    drawn = [ds.get_data_info(idx)['sent_id'] for _ in range(60)]
    assert set(drawn) == set(ds.get_data_info(idx)['sent_ids'])
    np.random.seed(0)
    assert [ds.get_data_info(idx)['sent_id'] for _ in range(60)] == drawn


def test_select_first_mode(refshapes_root, make_dataset):
    ds = make_dataset(refshapes_root, 'val', text_mode='select_first')
    refs = [r for r in read_refs(refshapes_root) if r['split'] == 'val']
    first = {r['ref_id']: r['sentences'][0] for r in refs}
    assert len(ds) == len(refs)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        sent = first[info['ref_id']]
        assert (info['sent_id'], info['text']) == (sent['sent_id'],
                                                   sent['raw'])


def test_unknown_text_mode(refshapes_root, make_dataset):
    with pytest.raises(ValueError, match="text_mode must be one of .*'bad'"):
        make_dataset(refshapes_root, 'val', text_mode='bad')


def test_masks_are_encoded_once_as_rle(refshapes_root, make_dataset):
    with open(osp.join(refshapes_root, 'instances.json')) as f:
        anns = {a['id']: a for a in json.load(f)['annotations']}
    ds = make_dataset(refshapes_root, 'train')
    raw = make_dataset(refshapes_root, 'train', encode_masks=False)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        rle = info['segmentation']
        assert isinstance(rle['counts'], bytes)
        assert rle['size'] == [info['height'], info['width']]
        polygons = anns[info['ann_id']]['segmentation']
        assert raw.get_data_info(i)['segmentation'] == polygons
        expected = mask_utils.decode(
            mask_utils.merge(mask_utils.frPyObjects(polygons, 48, 64)))
        assert np.array_equal(mask_utils.decode(rle), expected)
        assert expected.sum() > 0


def test_lazy_init_and_serialised_data_list(refshapes_root, make_dataset):
    ds = make_dataset(refshapes_root, 'val', lazy_init=True)
    assert not ds._fully_initialized
    n = len(ds)  # triggers full_init
    assert ds._fully_initialized and n > 0
    assert ds.data_list == [] and ds.data_bytes.dtype == np.uint8
    plain = make_dataset(refshapes_root, 'val', serialize_data=False)
    assert len(plain.data_list) == n
    assert plain.get_data_info(3)['text'] == ds.get_data_info(3)['text']


def test_metainfo(refshapes_root, make_dataset):
    ds = make_dataset(refshapes_root, 'val')
    assert ds.metainfo['classes'] == ('background', 'object')


# --- several sources ("mix") -------------------------------------------------


def test_mixed_sources_get_unique_ids(refshapes_copy, make_dataset):
    refs = read_refs(refshapes_copy)
    # a second REFER file over the same images, as refcoco+ is to refcoco
    write_refs(refshapes_copy, refs, 'refs(other).p')
    one = make_dataset(refshapes_copy, 'train')
    mix = make_dataset(
        refshapes_copy,
        'train',
        ann_file=['instances.json', 'instances.json'],
        split_file=['refs(unc).p', 'refs(other).p'])
    assert mix.text_mode == 'random'
    assert len(mix) == 2 * len(one)
    infos = [mix.get_data_info(i) for i in range(len(mix))]
    assert len({i['ref_id'] for i in infos}) == len(mix)
    sent_ids = [s for i in infos for s in i['sent_ids']]
    assert len(set(sent_ids)) == len(sent_ids)
    offset = max(r['ref_id'] for r in refs) + 1
    second = [i for i in infos if i['source'] == 1]
    assert all(i['ref_id'] == i['orig_ref_id'] + offset for i in second)
    assert {i['ann_id'] for i in second} == {
        one.get_data_info(k)['ann_id']
        for k in range(len(one))
    }


def test_mixed_sources_can_drop_images_of_eval_splits(refshapes_copy,
                                                      make_dataset):
    refs = read_refs(refshapes_copy)
    train_images = sorted({r['image_id'] for r in refs
                           if r['split'] == 'train'})
    # the other file evaluates on one of our train images
    other = [dict(r, split='val') if r['image_id'] == train_images[0] else r
             for r in refs]
    write_refs(refshapes_copy, other, 'refs(other).p')
    mix = make_dataset(
        refshapes_copy,
        ['train', 'train'],
        ann_file=['instances.json', 'instances.json'],
        split_file=['refs(unc).p', 'refs(other).p'],
        exclude_images_of_splits=('val', ))
    images = {mix.get_data_info(i)['image_id'] for i in range(len(mix))}
    assert images == set(train_images[1:])


def test_mixed_sources_need_matching_lists(refshapes_root, make_dataset):
    with pytest.raises(ValueError, match='one entry per source'):
        make_dataset(
            refshapes_root,
            'train',
            ann_file=['instances.json', 'instances.json'],
            split_file=['refs(unc).p'])


# --- Python 2 pickles --------------------------------------------------------


def py2_pickle(obj) -> bytes:
    """Pickle ``obj`` as Python 2 would: ``str`` values as raw bytes."""

    def dump(o):
        if isinstance(o, bool) or o is None:
            return {True: b'\x88', False: b'\x89', None: b'N'}[o]
        if isinstance(o, int):
            return b'J' + struct.pack('<i', o)
        if isinstance(o, float):
            return b'G' + struct.pack('>d', o)
        if isinstance(o, str):  # py2 str: UTF-8 bytes, no decoding info
            data = o.encode('utf-8')
            return b'T' + struct.pack('<I', len(data)) + data
        if isinstance(o, list):
            return b']' + (b'(' + b''.join(dump(x)
                                            for x in o) + b'e' if o else b'')
        if isinstance(o, dict):
            return b'}' + (b'(' + b''.join(
                dump(k) + dump(v) for k, v in o.items()) + b'u' if o else b'')
        raise TypeError(type(o))

    return b'\x80\x02' + dump(obj) + b'.'


def test_python2_pickle_with_non_ascii_sentences(refshapes_copy,
                                                 make_dataset):
    refs = read_refs(refshapes_copy)
    refs[0]['sentences'][0]['raw'] = 'the café-coloured circle'
    data = py2_pickle(refs)
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(data)  # what a plain load of the original files does
    with open(osp.join(refshapes_copy, 'refs(unc).p'), 'wb') as f:
        f.write(data)
    ds = make_dataset(refshapes_copy, refs[0]['split'], text_mode='original')
    texts = [ds.get_data_info(i)['text'] for i in range(len(ds))]
    assert 'the café-coloured circle' in texts


# --- bad input ---------------------------------------------------------------


def test_missing_ann_file(refshapes_root, make_dataset):
    with pytest.raises(FileNotFoundError,
                       match=r"'.*nothere\.json' does not exist .*COCO"):
        make_dataset(refshapes_root, ann_file='nothere.json')


def test_missing_split_file(refshapes_root, make_dataset):
    with pytest.raises(FileNotFoundError,
                       match=r"'.*refs\(umd\)\.p' does not exist .*pickle"):
        make_dataset(refshapes_root, split_file='refs(umd).p')


def test_missing_image_folder(refshapes_root, make_dataset):
    with pytest.raises(FileNotFoundError,
                       match=r"image folder '.*train2014' does not exist"):
        make_dataset(refshapes_root, data_prefix=dict(img_path='train2014'))


def test_ref_whose_image_is_missing(refshapes_copy, make_dataset):
    ref = next(r for r in read_refs(refshapes_copy) if r['split'] == 'val')
    path = osp.join(refshapes_copy, 'images',
                    f'refshapes_{ref["image_id"]:012d}.jpg')
    os.remove(path)
    with pytest.raises(FileNotFoundError) as e:
        make_dataset(refshapes_copy, 'val')
    assert f'ref_id {ref["ref_id"]} of ' in str(e.value)
    assert f"its image '{path}'" in str(e.value)
    # without the check it is left to LoadReferImage
    assert len(make_dataset(refshapes_copy, 'val', check_images=False))


def test_ref_whose_annotation_is_missing(refshapes_copy, make_dataset):
    refs = read_refs(refshapes_copy)
    refs[0]['ann_id'] = 10**6
    write_refs(refshapes_copy, refs)
    with pytest.raises(ValueError,
                       match=r'ref_id 0 .*ann_id 1000000 is not in .*'
                       r'instances\.json'):
        make_dataset(refshapes_copy, refs[0]['split'])


def test_unknown_split(refshapes_root, make_dataset):
    with pytest.raises(
            ValueError,
            match=r"unknown split 'valid' for .*refs\(unc\)\.p.*"
            r"\['testA', 'testB', 'train', 'val'\]"):
        make_dataset(refshapes_root, 'valid')


def test_empty_split(refshapes_root, make_dataset):
    # 'test' is a REFER split name (RefCOCOg umd) this file does not have
    with pytest.raises(
            ValueError,
            match=r"split 'test' of .*refs\(unc\)\.p' is empty.*"
            r"has splits \['testA', 'testB', 'train', 'val'\]"):
        make_dataset(refshapes_root, 'test')


def test_split_emptied_by_exclusion(refshapes_root, make_dataset):
    with pytest.raises(ValueError,
                       match=r"split 'val' .* is empty after excluding the "
                       r"images of \['val'\]"):
        make_dataset(refshapes_root, 'val', exclude_images_of_splits=['val'])


def test_bad_polygon_names_the_annotation(refshapes_copy, make_dataset):
    path = osp.join(refshapes_copy, 'instances.json')
    with open(path) as f:
        instances = json.load(f)
    ref = read_refs(refshapes_copy)[0]
    ann = next(a for a in instances['annotations']
               if a['id'] == ref['ann_id'])
    ann['segmentation'] = [[1, 2, 3, 4]]
    with open(path, 'w') as f:
        json.dump(instances, f)
    with pytest.raises(ValueError,
                       match=rf'ann_id {ann["id"]} in .*: expected a list of '
                       'polygons'):
        make_dataset(refshapes_copy, ref['split'])
