"""Every config in configs/ parses and builds: model, pipelines (on a
generated sample), optimizer; the tiny ones train one step. The Swin-B /
BERT-base ones build offline from a stand-in bert-base-uncased cache
(BertConfig() + the MiniLM vocabulary, random weights)."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIGS = sorted(
    osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'configs', '*.py')))
SWINB = [c for c in CONFIGS if '_swinb_' in c]
OTHERS = [c for c in CONFIGS if c not in SWINB]
BUILDER = osp.join(osp.dirname(__file__), 'build_config.py')
#: CARIS with Swin-B and BERT-base (tests/test_models/.../test_caris_configs)
SWINB_PARAMS = 226572664
FAMILIES = {
    'configs/maskris_swinb_refcoco.py': ('refcoco/refs(unc).p', 'testA'),
    'configs/maskris_swinb_refcoco+.py': ('refcoco+/refs(unc).p', 'testA'),
    'configs/maskris_swinb_refcocog_umd.py': ('refcocog/refs(umd).p',
                                              'test'),
    'configs/maskris_swinb_refcocog_google.py': ('refcocog/refs(google).p',
                                                 'val'),
    'configs/caris_swinb_refcoco.py': ('refcoco/refs(unc).p', 'testA'),
}
MASKING = {'RandomPatchMask', 'RandomTextMask'}


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    from mmris.datasets.refshapes import generate_refshapes
    root = str(tmp_path_factory.mktemp('refshapes'))
    generate_refshapes(
        root, num_images=dict(train=1, val=1, testA=1, testB=1),
        level='easy', width=64, height=48, seed=0)
    return root


def build(configs, data_root, *args, **env):
    proc = subprocess.run(
        [sys.executable, BUILDER, data_root, *configs, *args],
        cwd=ROOT,
        env={
            **os.environ, 'HF_HUB_OFFLINE': '1',
            'OMP_NUM_THREADS': '1',
            **env
        },
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize('config', CONFIGS)
def test_config_parses_with_the_runner_keys(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.default_scope == 'mmris'
    assert cfg.model.type in ('MaskRIS', 'RISSegmentor')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'optim_wrapper', 'param_scheduler', 'train_cfg', 'val_cfg',
                'test_cfg', 'val_evaluator', 'test_evaluator'):
        assert key in cfg, key
    assert cfg.val_evaluator.type == 'RISMetric'
    pipeline = {t.type for t in cfg.train_dataloader.dataset.pipeline}
    # MaskRIS needs the masked views; a plain model does not use them
    if cfg.model.type == 'MaskRIS':
        assert MASKING <= pipeline


@pytest.mark.parametrize('config', SWINB)
def test_swin_b_configs_follow_the_paper_recipe(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    split_file, test_split = FAMILIES[config]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        assert dataset.split_file == split_file
        resize = [t for t in dataset.pipeline if t.type == 'Resize']
        assert resize[0].scale == (448, 448) and not resize[0].keep_ratio
        tokenize = [t for t in dataset.pipeline if t.type == 'TokenizeText']
        assert tokenize[0].tokenizer == 'bert-base-uncased'
        assert tokenize[0].max_length == 20
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.test_dataloader.dataset.split == test_split
    assert cfg.train_cfg.max_epochs == 50
    assert cfg.optim_wrapper.optimizer == dict(
        type='AdamW', lr=1e-4, weight_decay=1e-2)
    checkpoint = cfg.default_hooks.checkpoint
    assert (checkpoint.save_best, checkpoint.rule) == ('oIoU', 'greater')
    segmentor = cfg.model.segmentor if cfg.model.type == 'MaskRIS' \
        else cfg.model
    assert segmentor.decode_head.type == 'CARISHead'
    assert segmentor.backbone.depths == [2, 2, 18, 2]
    if config.startswith('configs/caris_'):
        assert cfg.model.type == 'RISSegmentor'
        assert not MASKING & {
            t.type
            for t in cfg.train_dataloader.dataset.pipeline
        }
    else:
        assert (cfg.model.clean_weight, cfg.model.distill_weight) == (0.5,
                                                                       0.5)


def test_swin_b_configs_build_offline(data_root, tmp_path):
    from fake_hf_cache import make_fake_bert_cache
    make_fake_bert_cache(str(tmp_path))
    out = build(SWINB, data_root, HF_HOME=str(tmp_path))
    for config in SWINB:
        summary = out[config]
        assert summary['params'] == SWINB_PARAMS, config
        assert summary['test_input'] == [3, 448, 448]
        # Swin and BERT at 0.1x lr
        assert summary['lrs'] == pytest.approx([1e-5, 1e-4])
        maskris = summary['model'] == 'MaskRIS'
        assert ('masked_input_ids' in summary['train_fields']) == maskris
        assert 'masked_input_ids' not in summary['test_fields']


def test_other_configs_build_and_train_one_step(data_root):
    out = build(OTHERS, data_root, '--train-step')
    for config in OTHERS:
        losses = out[config]['losses']
        assert all(math.isfinite(v) for v in losses.values()), config
        if out[config]['model'] == 'MaskRIS':
            assert 'distill.loss_ce' in losses, config
