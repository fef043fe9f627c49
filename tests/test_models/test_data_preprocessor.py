import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmris.models import RISDataPreProcessor

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def _batch(sizes=((8, 8), (8, 8)), masked=True, length=5):
    inputs, samples = [], []
    for i, (h, w) in enumerate(sizes):
        # BGR image: channel c filled with a distinct value
        img = torch.stack([
            torch.full((h, w), v, dtype=torch.uint8) for v in (10, 100, 200)
        ])
        img[:, 0, 0] = torch.tensor([1, 2, 3], dtype=torch.uint8) + i
        sample = SegDataSample(metainfo=dict(img_shape=(h, w)))
        sample.gt_sem_seg = PixelData(
            data=torch.ones(1, h, w, dtype=torch.long))
        sample.input_ids = torch.arange(101, 101 + length) + i
        sample.attention_mask = torch.ones(length, dtype=torch.long)
        if masked:
            keep = torch.zeros(h, w, dtype=torch.uint8)
            keep[:h // 2] = 1
            sample.img_keep_mask = keep
            sample.masked_input_ids = torch.full((length, ), 103) + i
        inputs.append(img)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _expected_rgb(img):
    rgb = img[[2, 1, 0]].float()
    return (rgb - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(
        3, 1, 1)


@pytest.mark.parametrize('training', [True, False])
def test_outputs_normalised_rgb_and_text(training):
    pre = RISDataPreProcessor(mean=MEAN, std=STD, bgr_to_rgb=True)
    data = _batch()
    raw = [img.clone() for img in data['inputs']]
    out = pre(data, training=training)
    inputs = out['inputs']
    assert set(inputs) == {
        'imgs', 'input_ids', 'attention_mask', 'masked_imgs',
        'masked_input_ids'
    }
    assert inputs['imgs'].shape == (2, 3, 8, 8)
    assert inputs['imgs'].dtype == torch.float32
    for i in range(2):
        torch.testing.assert_close(inputs['imgs'][i], _expected_rgb(raw[i]))
    assert inputs['input_ids'].tolist() == [[101, 102, 103, 104, 105],
                                            [102, 103, 104, 105, 106]]
    assert inputs['input_ids'].dtype == torch.long
    assert inputs['attention_mask'].shape == (2, 5)
    assert inputs['masked_input_ids'][1].tolist() == [104] * 5
    assert len(out['data_samples']) == 2


def test_masked_images_blank_to_exact_zero_after_normalisation():
    pre = RISDataPreProcessor(mean=MEAN, std=STD, bgr_to_rgb=True)
    out = pre(_batch(), training=True)['inputs']
    imgs, masked = out['imgs'], out['masked_imgs']
    assert torch.equal(masked[:, :, :4], imgs[:, :, :4])  # kept half
    assert torch.count_nonzero(masked[:, :, 4:]) == 0  # blanked: exactly 0
    assert torch.count_nonzero(imgs[:, :, 4:]) > 0


def test_no_masked_views_without_masking_fields():
    pre = RISDataPreProcessor(mean=MEAN, std=STD)
    out = pre(_batch(masked=False), training=False)['inputs']
    assert set(out) == {'imgs', 'input_ids', 'attention_mask'}


def test_padding_pads_keep_mask_like_the_image():
    pre = RISDataPreProcessor(
        mean=MEAN, std=STD, size_divisor=16, seg_pad_val=255)
    out = pre(_batch(sizes=((8, 8), (12, 10))), training=True)
    inputs, samples = out['inputs'], out['data_samples']
    assert inputs['imgs'].shape == (2, 3, 16, 16)
    assert inputs['masked_imgs'].shape == (2, 3, 16, 16)
    # padding area: 0 in both views; blanked half of sample 1 is 0
    assert torch.count_nonzero(inputs['imgs'][1, :, 12:]) == 0
    assert torch.equal(inputs['masked_imgs'][1, :, :6, :10],
                       inputs['imgs'][1, :, :6, :10])
    assert torch.count_nonzero(inputs['masked_imgs'][1, :, 6:]) == 0
    gt = samples[1].gt_sem_seg.data
    assert gt.shape == (1, 16, 16) and gt[0, 12:].eq(255).all()


def test_clear_errors():
    pre = RISDataPreProcessor(mean=MEAN, std=STD)
    data = _batch()
    del data['data_samples'][1].input_ids
    with pytest.raises(KeyError, match=r'\[1\].*input_ids'):
        pre(data, training=True)
    data = _batch()
    data['data_samples'][0].img_keep_mask = torch.ones(4, 4)
    with pytest.raises(ValueError,
                       match=r'img_keep_mask of sample 0.*\(4, 4\)'):
        pre(data, training=True)
    data = _batch()
    data['data_samples'][0].input_ids = torch.ones(7, dtype=torch.long)
    with pytest.raises(ValueError, match='input_ids'):
        pre(data, training=True)
    with pytest.raises(ValueError, match='data_samples'):
        pre(dict(inputs=_batch()['inputs']), training=False)
