"""Build the model, pipelines and optimizer of configs; print a summary.

Run as a script (``python build_config.py DATA_ROOT CONFIG...``) so that
``HF_HOME`` can point at a stand-in ``bert-base-uncased`` cache before
transformers is imported. Prints one JSON object: config -> summary.
"""
import copy
import json
import sys

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmris.registry import DATASETS, MODELS


def data_cfg(cfg, loader, data_root, split):
    dataset = copy.deepcopy(cfg[loader]['dataset'])
    dataset.update(
        data_root=data_root,
        ann_file='instances.json',
        split_file='refs(unc).p',
        data_prefix=dict(img_path='images/'),
        split=split)
    return dataset


def summarise(path, data_root, train_step, models):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmris'))
    train = DATASETS.build(data_cfg(cfg, 'train_dataloader', data_root,
                                    'train'))
    test = DATASETS.build(data_cfg(cfg, 'test_dataloader', data_root,
                                   'val'))
    train_sample, test_sample = train[0], test[0]
    key = json.dumps(cfg.model, sort_keys=True, default=str)
    if key not in models:  # configs sharing a model build it once
        torch.manual_seed(0)
        models[key] = MODELS.build(cfg.model)
    model = models[key]
    optim = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    summary = dict(
        model=type(model).__name__,
        params=sum(p.numel() for p in model.parameters()),
        lrs=sorted({g['lr']
                    for g in optim.optimizer.param_groups}),
        train_input=list(train_sample['inputs'].shape),
        train_fields=sorted(train_sample['data_samples'].keys()),
        test_input=list(test_sample['inputs'].shape),
        test_fields=sorted(test_sample['data_samples'].keys()))
    if train_step:
        model.train()
        batch = pseudo_collate([train[0], train[1]])
        log_vars = model.train_step(batch, optim)
        summary['losses'] = {k: float(v) for k, v in log_vars.items()}
    return summary


def main():
    data_root, *args = sys.argv[1:]
    train_step = '--train-step' in args
    models = {}
    out = {
        path: summarise(path, data_root, train_step, models)
        for path in args if path != '--train-step'
    }
    print(json.dumps(out))


if __name__ == '__main__':
    main()
