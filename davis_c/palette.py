"""The DAVIS / PASCAL-VOC colour palette used for label-indexed PNG masks."""

from __future__ import annotations

import numpy as np


def voc_palette(n: int = 256) -> np.ndarray:
    """The standard PASCAL-VOC (and DAVIS) palette as an (n, 3) uint8 array; label 1 is (128, 0, 0)."""
    pal = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


DAVIS_PALETTE: bytes = voc_palette().tobytes()
