"""Segment what a sentence refers to in one image.

Example::

    python tools/demo.py demo.jpg "the man on the left" \\
        configs/maskris_swinb_refcoco.py best.pth --out result.png

writes the image, at its size, with the predicted mask overlaid and the
sentence written on it (``--mask-out`` also writes the bare mask: 0
background, 255 object).
"""
import argparse

import mmcv
from mmengine.config import DictAction

from mmris.apis import inference_model, init_model, show_result


def parse_args():
    parser = argparse.ArgumentParser(
        description='Referring image segmentation of one image')
    parser.add_argument('image', help='image file')
    parser.add_argument('sentence', help='the referring expression')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', default='demo_result.png', help='output picture')
    parser.add_argument('--mask-out', help='also write the mask there')
    parser.add_argument(
        '--device', default=None, help='e.g. cuda:0 or cpu (default: '
        'cuda:0 when available)')
    parser.add_argument(
        '--opacity', type=float, default=0.5, help='opacity of the mask')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, xxx=yyy format')
    return parser.parse_args()


def main():
    args = parse_args()
    model = init_model(args.config, args.checkpoint, args.device,
                       args.cfg_options)
    image = mmcv.imread(args.image)
    mask = inference_model(model, image, args.sentence)
    show_result(image, mask, args.sentence, args.out, alpha=args.opacity)
    if args.mask_out:
        mmcv.imwrite(mask * 255, args.mask_out)
    print(f'{args.out}: {int(mask.sum())} of {mask.size} pixels refer to '
          f'"{args.sentence}"')


if __name__ == '__main__':
    main()
