"""Draw a predicted mask and its sentence on the image."""
import textwrap
from typing import Optional, Sequence

import cv2
import mmcv
import numpy as np


def show_result(image: np.ndarray,
                mask: np.ndarray,
                sentence: str,
                out_file: Optional[str] = None,
                color: Sequence[int] = (230, 40, 40),
                alpha: float = 0.5,
                font_scale: Optional[float] = None) -> np.ndarray:
    """The image with the mask overlaid and the sentence written at its top,
    at the image's size.

    Args:
        image (np.ndarray): HxWx3 uint8 BGR image.
        mask (np.ndarray): HxW mask, non-zero on the object.
        sentence (str): Written on a dark band at the top (wrapped; ASCII:
            other characters show as '?').
        out_file (str, optional): Also write the picture there.
        color (Sequence[int]): RGB of the overlay. Defaults to (230, 40, 40).
        alpha (float): Opacity of the overlay. Defaults to 0.5.
        font_scale (float, optional): OpenCV font scale. Defaults to None:
            from the image width.

    Returns:
        np.ndarray: The drawn HxWx3 uint8 BGR picture.
    """
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(f'show_result: mask {mask.shape[:2]} and image '
                         f'{image.shape[:2]} differ in size (HxW).')
    drawn = image.copy()
    fg = mask > 0
    bgr = np.array(color[::-1], dtype=np.float32)
    drawn[fg] = (drawn[fg] * (1 - alpha) + bgr * alpha).astype(np.uint8)

    height, width = drawn.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = font_scale or max(width / 900, 0.3)
    text = sentence.encode('ascii', 'replace').decode('ascii')
    char_w = max(cv2.getTextSize('abcdefghij', font, scale, 1)[0][0] / 10, 1)
    (_, text_h), base = cv2.getTextSize('Ag', font, scale, 1)
    line_h = text_h + base + 4
    lines = textwrap.wrap(text, max(int((width - 8) / char_w), 4)) or ['']
    band = min(len(lines) * line_h + 4, height)
    drawn[:band] = (drawn[:band] * 0.35).astype(np.uint8)
    for i, line in enumerate(lines):
        y = 2 + (i + 1) * line_h - base - 2
        if y > height:
            break
        cv2.putText(drawn, line, (4, y), font, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)
    if out_file is not None:
        mmcv.imwrite(drawn, out_file)
    return drawn
