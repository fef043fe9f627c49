"""Generate RefShapes, a small referring-segmentation dataset in REFER format.

Example::

    python tools/data/generate_refshapes.py data/refshapes --level easy \\
        --num-train 400 --num-val 100 --num-test 50 --seed 0

writes ``data/refshapes/{instances.json,refs(unc).p,images/}``, the layout
``configs/_base_/datasets/refshapes.py`` reads. See
``mmris/datasets/refshapes.py`` for what the images and sentences are.
"""
import argparse
import time

from mmris.datasets.refshapes import LEVELS, generate_refshapes


def parse_args():
    parser = argparse.ArgumentParser(
        description='Generate the RefShapes dataset (REFER format)')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--level', default='easy', choices=list(LEVELS))
    parser.add_argument('--num-train', type=int, default=400,
                        help='train images')
    parser.add_argument('--num-val', type=int, default=100,
                        help='val images')
    parser.add_argument('--num-test', type=int, default=50,
                        help='images of testA and of testB each')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--sentences-per-ref', type=int, default=3)
    parser.add_argument('--refs-per-image', type=int, default=None,
                        help='at most this many refs per image '
                        '(default: the level\'s)')
    parser.add_argument('--jpeg-quality', type=int, default=90)
    parser.add_argument(
        '--noise', type=float, default=5.0,
        help='background noise std; 25 makes JPEGs as large as COCO photos '
        '(~160 KB at 640x480), for benchmarks')
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.perf_counter()
    counts = generate_refshapes(
        args.out_dir,
        num_images=dict(
            train=args.num_train,
            val=args.num_val,
            testA=args.num_test,
            testB=args.num_test),
        level=args.level,
        width=args.width,
        height=args.height,
        seed=args.seed,
        sentences_per_ref=args.sentences_per_ref,
        refs_per_image=args.refs_per_image,
        jpeg_quality=args.jpeg_quality,
        noise=args.noise)
    for split, c in counts.items():
        print(f'{split:6s} images {c["images"]:6d}  refs {c["refs"]:6d}  '
              f'sentences {c["sentences"]:6d}')
    print(f'wrote {args.out_dir} in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
