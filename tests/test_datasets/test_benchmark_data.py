"""tools/analysis/benchmark_data.py runs on a config and reports each stage."""
import os
import os.path as osp
import re
import subprocess
import sys

REPO = osp.join(osp.dirname(__file__), '..', '..')


def test_benchmark_data_reports_stages_and_workers(refshapes_root,
                                                   minilm_dir):
    proc = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'analysis', 'benchmark_data.py'),
        osp.join(REPO, 'configs', '_base_', 'datasets', 'refshapes.py'),
        '--tokenizer', minilm_dir, '--workers', '0', '1', '--num-samples',
        '8', '--warmup', '4', '--repeat', '1', '--batch-size', '2',
        '--cfg-options', f'train_dataloader.dataset.data_root={refshapes_root}'
    ],
                          capture_output=True,
                          text=True,
                          env=dict(os.environ, HF_HUB_OFFLINE='1'),
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for name in ('LoadReferImage', 'LoadReferMask', 'Resize', 'TokenizeText',
                 'RandomPatchMask', 'RandomTextMask', 'PackRISInputs'):
        assert re.search(rf'{name}\s+\w+\s+[\d.]+\s+[\d.]+', out), name
    assert re.search(r'workers 0: +[\d.]+ samples/s wall', out)
    assert re.search(r'workers 1: .* -> [\d.]+ samples/s per worker', out)
