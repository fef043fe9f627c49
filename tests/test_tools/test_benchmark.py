"""tools/analysis/benchmark.py on the small CARIS config, tiny inputs."""
import json
import math
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

ROOT = osp.join(osp.dirname(__file__), '..', '..')
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import benchmark  # noqa: E402

TINY = osp.join(ROOT, 'configs', '_base_', 'models', 'caris_tiny_minilm.py')


def tiny_job(mode, **kwargs):
    args = benchmark.parse_args([TINY])
    segmentor, maskris_kwargs = benchmark.split_model_cfg(
        Config.fromfile(TINY).model.to_dict())
    benchmark.prepare_segmentor_cfg(segmentor, args)
    job = dict(
        mode=mode,
        model=benchmark.mode_model_cfg(segmentor, maskris_kwargs, mode),
        optim_wrapper=Config.fromfile(
            args.optim_config).optim_wrapper.to_dict(),
        data=benchmark.make_batch(2, 64, 8, 0, 16, 0.25,
                                  mode != 'inference'),
        device='cpu',
        threads=1,
        seed=0,
        warmup=0,
        iters=2,
        profile=0)
    job.update(kwargs)
    return job


def test_batch_is_seeded_and_carries_both_views():
    a = benchmark.make_batch(2, 64, 8, 3, 16, 0.25, True)
    b = benchmark.make_batch(2, 64, 8, 3, 16, 0.25, True)
    for x, y in zip(a['inputs'], b['inputs']):
        assert torch.equal(x, y)
    for x, y in zip(a['data_samples'], b['data_samples']):
        for key in ('input_ids', 'masked_input_ids', 'img_keep_mask'):
            assert torch.equal(x.get(key), y.get(key))
        assert torch.equal(x.gt_sem_seg.data, y.gt_sem_seg.data)
        # RandomPatchMask keeps int(16 * 0.25) = 4 of the 4x4 patches
        assert x.img_keep_mask.float().mean().item() == pytest.approx(0.25)
        assert x.input_ids[0] == benchmark.CLS_ID
    plain = benchmark.make_batch(1, 64, 8, 3, 16, 0.25, False)
    assert 'img_keep_mask' not in plain['data_samples'][0]


def test_modes_of_segmentor_and_maskris_configs():
    segmentor, kwargs = benchmark.split_model_cfg(
        Config.fromfile(TINY).model.to_dict())
    assert kwargs == {}
    wrapped = dict(
        type='MaskRIS', segmentor=segmentor, mode='sequential',
        distill_weight=0.3)
    inner, kwargs = benchmark.split_model_cfg(wrapped)
    assert inner == segmentor and kwargs == dict(distill_weight=0.3)
    concat = benchmark.mode_model_cfg(inner, kwargs, 'concat')
    assert concat['mode'] == 'concat' and concat['distill_weight'] == 0.3
    assert benchmark.mode_model_cfg(inner, kwargs, 'plain') == segmentor
    with pytest.raises(SystemExit, match='decode_head'):
        benchmark.split_model_cfg(dict(type='Foo', backbone={}))


def test_pretrained_text_encoder_becomes_random_bert_base():
    text_cfg = dict(type='HFTextEncoder', pretrained='bert-base-uncased')
    desc = benchmark.random_text_encoder(text_cfg)
    assert text_cfg['pretrained'] is None
    assert 'bert-base' in desc
    assert text_cfg['config']['hidden_size'] == 768
    assert text_cfg['config']['num_hidden_layers'] == 12


@pytest.mark.parametrize('mode', ['plain', 'concat', 'sequential'])
def test_training_job_steps_the_model(mode):
    result = benchmark.run_job(tiny_job(mode))
    assert len(result['times']) == 2 and len(result['cpu_times']) == 2
    assert result['mem_peak'] >= result['mem_model'] > 0
    assert all(math.isfinite(v) for v in result['losses'])


def test_inference_job():
    result = benchmark.run_job(tiny_job('inference', iters=1))
    assert len(result['times']) == 1 and result['times'][0] > 0


def test_summary_ratios():
    runs = {
        'plain': dict(times=[1.0, 3.0, 2.0], cpu_times=[2, 2, 2],
                      mem_model=10, mem_peak=20, load=0.5),
        'concat': dict(times=[4.0], cpu_times=[8], mem_model=10,
                       mem_peak=30, load=0.5),
    }
    summary = benchmark.summarize(runs)
    assert summary['plain']['median_s'] == 2.0
    assert summary['concat']['time_ratio'] == 2.0
    assert summary['concat']['mem_ratio'] == 1.5
    assert summary['concat']['extra_ratio'] == 2.0
    table = benchmark.format_table(summary, 'header', 'cpu')
    assert 'concat' in table and '2.00/1.50' in table


def test_command_line_run_in_spawned_process(tmp_path):
    out = tmp_path / 'bench.json'
    benchmark.main([
        TINY, '--batch-size', '1', '--img-size', '64', '--num-tokens', '8',
        '--iters', '1', '--warmup', '0', '--threads', '1', '--modes',
        'plain', '--no-inference', '--out',
        str(out)
    ])
    saved = json.loads(out.read_text())
    assert set(saved['results']) == {'plain'}
    assert saved['results']['plain']['median_s'] > 0
    assert saved['results']['plain']['mem_peak'] > 0


def test_rejects_bad_arguments():
    with pytest.raises(SystemExit):
        benchmark.parse_args([TINY, '--iters', '0'])
    with pytest.raises(SystemExit, match='GPU'):
        benchmark.parse_args([TINY, '--amp'])
