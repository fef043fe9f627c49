import os
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def test_count_params_prints_split_and_logits_shape():
    out = subprocess.run([
        sys.executable, 'tools/analysis/count_params.py',
        'configs/_base_/models/caris_tiny_minilm.py', '--forward', '64'
    ],
                         cwd=ROOT,
                         env={
                             **os.environ, 'HF_HUB_OFFLINE': '1'
                         },
                         capture_output=True,
                         text=True,
                         check=True).stdout
    rows = {
        m.group(1): int(m.group(2).replace(',', ''))
        for m in re.finditer(r'^(\w+)[^\n]*?\s([\d,]+)\s+[\d,]+$', out,
                             re.M)
    }
    parts = ('backbone', 'text_encoder', 'prompt_generator', 'decode_head')
    assert set(parts) | {'total'} <= set(rows), out
    assert rows['total'] == sum(rows[p] for p in parts)
    # 2 MLPs 256->384->384, 5 embeddings, LayerNorm
    assert rows['prompt_generator'] == 2 * (256 * 384 + 384 + 384 * 384 +
                                            384) + 5 * 384 + 2 * 384
    assert 'logits for a 64x64 image and 20 tokens: [1, 2, 16, 16]' in out
