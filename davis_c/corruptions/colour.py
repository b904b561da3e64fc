"""Colour preservation of stylised frames: the official YCrCb luma/chroma mix and its corrected variant."""

from __future__ import annotations

import cv2
import numpy as np


def preserve_colours(content: np.ndarray, stylised: np.ndarray, colour_fix: bool = False) -> np.ndarray:
    """Luma of `stylised` with the chroma of `content`; both HxWx3 RGB float in 0..1, result float32 0..1.

    Faithful (default): as the official `_color_correct_to_input`, the RGB images (x255, float32) go through
    `COLOR_BGR2YCR_CB` although they are RGB, so the luma weights of R and B are swapped; the way back uses
    `COLOR_YCrCb2BGR`, which undoes the same swap, so the result is RGB again. `colour_fix=True` uses the
    correct RGB conversions.
    """
    to_ycc, from_ycc = ((cv2.COLOR_RGB2YCrCb, cv2.COLOR_YCrCb2RGB) if colour_fix
                        else (cv2.COLOR_BGR2YCrCb, cv2.COLOR_YCrCb2BGR))
    h, w = content.shape[:2]
    c = cv2.cvtColor(np.array(content * np.float32(255.0), dtype=np.float32), to_ycc)
    g = cv2.cvtColor(np.array(stylised * np.float32(255.0), dtype=np.float32), to_ycc)[:h, :w]
    mixed = np.empty(g.shape, dtype=np.float32)
    mixed[:, :, 0] = g[:, :, 0]
    mixed[:, :, 1:] = c[:, :, 1:]
    return cv2.cvtColor(mixed, from_ycc) / np.float32(255.0)
