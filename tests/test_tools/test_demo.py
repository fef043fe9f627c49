"""tools/demo.py through its command line."""
import os.path as osp
import re

import mmcv
import numpy as np

from cli_helpers import CONFIG, run


def test_demo_writes_the_picture_at_the_image_size(trained, data_root,
                                                   tmp_path):
    image = osp.join(data_root, 'images', 'refshapes_000000000001.jpg')
    out, mask_out = str(tmp_path / 'x.png'), str(tmp_path / 'mask.png')
    proc = run([
        'tools/demo.py', image, 'circle', CONFIG,
        osp.join(trained, 'epoch_2.pth'), '--out', out, '--mask-out',
        mask_out, '--device', 'cpu'
    ])
    picture, original = mmcv.imread(out), mmcv.imread(image)
    assert picture.shape == original.shape == (48, 64, 3)
    mask = mmcv.imread(mask_out, flag='unchanged')
    assert mask.shape == (48, 64) and set(np.unique(mask)) <= {0, 255}
    pixels = int(re.search(r': (\d+) of 3072 pixels', proc.stdout).group(1))
    assert pixels == (mask > 0).sum()
    # the sentence band at the top and the overlay change the picture;
    # below the band, pixels off the mask are the image's
    assert not np.array_equal(picture[:10], original[:10])
    below = np.zeros(mask.shape, bool)
    below[24:] = True  # one line of text above
    off = below & (mask == 0)
    assert np.array_equal(picture[off], original[off])
    if ((mask > 0) & below).any():
        on = below & (mask > 0)
        assert not np.array_equal(picture[on], original[on])
