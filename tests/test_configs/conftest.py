import os.path as osp
import sys

# tools/misc/fake_hf_cache.py (a script, not a package)
sys.path.insert(
    0, osp.join(osp.dirname(__file__), '..', '..', 'tools', 'misc'))
