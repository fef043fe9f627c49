import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmris.models import SimpleFusionHead


def _head(**kwargs):
    cfg = dict(
        in_channels=[8, 16, 32],
        text_channels=12,
        channels=8,
        norm_cfg=dict(type='GN', num_groups=2))
    cfg.update(kwargs)
    return SimpleFusionHead(**cfg)


def _feats(batch=2):
    visual = [torch.randn(batch, c, 16 // 2**i, 16 // 2**i)
              for i, c in enumerate([8, 16, 32])]
    text = torch.randn(batch, 5, 12)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])[:batch]
    return visual, text, mask


def test_logits_at_finest_level_and_text_conditioned():
    torch.manual_seed(0)
    head = _head()
    visual, text, mask = _feats()
    logits = head((visual, text, mask))
    assert logits.shape == (2, 2, 16, 16)
    other = head((visual, text.flip(0), mask))
    assert not torch.allclose(logits, other)  # the sentence matters


def test_mean_pool_ignores_padded_tokens():
    torch.manual_seed(0)
    head = _head(text_pool='mean')
    visual, text, mask = _feats()
    logits = head((visual, text, mask))
    text2 = text.clone()
    text2[0, 3:] = 100.0  # padded tokens of sample 0
    torch.testing.assert_close(head((visual, text2, mask)), logits)
    text2[0, 0] = 100.0  # a real token
    assert not torch.allclose(head((visual, text2, mask)), logits)


def test_loss_and_errors():
    torch.manual_seed(0)
    head = _head()
    visual, text, mask = _feats()
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 2, (1, 64, 64)))
        samples.append(s)
    losses = head.loss((visual, text, mask), samples)
    assert set(losses) == {'loss_ce', 'acc_seg'}
    losses['loss_ce'].backward()
    assert all(p.grad is not None for p in head.parameters())
    with pytest.raises(ValueError, match='3 visual levels'):
        head((visual[:2], text, mask))
    with pytest.raises(ValueError, match='text_pool'):
        _head(text_pool='max')
