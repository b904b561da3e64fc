"""Glass blur's local pixel "shuffle" as a numba loop, in the official loop order.

The official ImageNet-C/DAVIS-C code writes `x[h, w], x[h', w'] = x[h', w'], x[h, w]` on a NumPy array. Because
the right-hand side holds *views*, the first assignment overwrites x[h, w] and the second writes it back onto
x[h', w']: the "swap" is really the one-way copy x[h, w] <- x[h', w'] (TTT-SPEC §5). The result depends on the
visiting order, so this loop keeps it exactly: passes, then h from H-d down to d+1, then w from W-d down to d+1.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def draw_offsets(rng: np.random.Generator, height: int, width: int, delta: int, iterations: int) -> np.ndarray:
    """All (dx, dy) draws of one frame, shape (iterations, H-2d, W-2d, 2), in the official visiting order.

    Each pair is `randint(-delta, delta)`, i.e. in [-delta, delta - 1], like `np.random.randint(-d, d, size=(2,))`.
    """
    nh, nw = height - 2 * delta, width - 2 * delta
    if nh <= 0 or nw <= 0:
        return np.zeros((iterations, 0, 0, 2), np.int64)
    return rng.integers(-delta, delta, size=(iterations, nh, nw, 2), dtype=np.int64)


@njit(cache=True, nogil=True)
def _copy_loop(x, offsets, delta):  # pragma: no cover - compiled
    height, width, channels = x.shape
    iterations, nh, nw, _ = offsets.shape
    for i in range(iterations):
        for a in range(nh):
            h = height - delta - a
            for b in range(nw):
                w = width - delta - b
                hp = h + offsets[i, a, b, 1]
                wp = w + offsets[i, a, b, 0]
                for c in range(channels):
                    x[h, w, c] = x[hp, wp, c]
    return x


def shuffle_pixels(x: np.ndarray, offsets: np.ndarray, delta: int) -> np.ndarray:
    """Apply the official in-place "swap" (a copy) to HxWxC uint8 `x` with pre-drawn `offsets`; returns `x`."""
    if offsets.size == 0:
        return x
    return _copy_loop(x, np.ascontiguousarray(offsets), int(delta))
