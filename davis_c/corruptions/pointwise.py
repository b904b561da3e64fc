"""Fused numba versions of the per-pixel tails of ImageNet-C's float corruptions.

NumPy evaluates `np.clip(x / 255 + noise, 0, 1) * 255` and then `cv2.imwrite`'s rounding as five or six passes
over full float64 temporaries. These kernels run the same IEEE float64 operations in the same order, one pixel
at a time (numba compiles without fast-math), and write the uint8 result directly, so the output is the same
bit for bit. The random draws (`rng.normal`) and the per-channel means (`np.mean`) stay NumPy's, so the values
that enter the arithmetic are the official ones; so do `defocus_blur`'s filters, whose float64 results only get
the shared tail `np.clip(v, 0, 1) * 255` -> uint8 here. `tests/test_corruptions.py`
compares every kernel with the NumPy definitions in `imagenet_c.py`.

`_clip01_to_u8` is the same expression as `hsv._to_u8` and the last step of `gauss._blur`. Each module keeps its
own copy on purpose: numba's on-disk cache is keyed on the content of the file that defines a function, so an
njit kernel calling one from another file would keep running stale compiled code after that file changed.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _clip01_to_u8(v):  # pragma: no cover - compiled
    """`np.clip(v, 0, 1) * 255`, then round half to even and saturate, as `base.to_uint8`."""
    y = np.rint(min(max(v, 0.0), 1.0) * 255)
    return np.uint8(min(max(y, 0.0), 255.0))


@njit(cache=True, nogil=True)
def _noise_u8(x, noise, out):  # pragma: no cover - compiled
    flat_x = x.ravel()
    flat_n = noise.ravel()
    flat_o = out.ravel()
    for k in range(flat_x.size):
        flat_o[k] = _clip01_to_u8(flat_x[k] / 255.0 + flat_n[k])
    return out


@njit(cache=True, nogil=True)
def _contrast_u8(x, means, c, out):  # pragma: no cover - compiled
    height, width, channels = x.shape
    for i in range(height):
        for j in range(width):
            for ch in range(channels):
                v = x[i, j, ch] / 255.0
                out[i, j, ch] = _clip01_to_u8((v - means[ch]) * c + means[ch])
    return out


@njit(cache=True, nogil=True)
def _planes_unit_u8(p0, p1, p2, out):  # pragma: no cover - compiled
    height, width = p0.shape
    for i in range(height):
        for j in range(width):
            out[i, j, 0] = _clip01_to_u8(p0[i, j])
            out[i, j, 1] = _clip01_to_u8(p1[i, j])
            out[i, j, 2] = _clip01_to_u8(p2[i, j])
    return out


def planes_to_u8(planes: list[np.ndarray]) -> np.ndarray:
    """HxWx3 uint8 of `np.clip(np.dstack(planes), 0, 1) * 255` for three HxW float64 planes."""
    p0, p1, p2 = (np.ascontiguousarray(p, dtype=np.float64) for p in planes)
    if not p0.shape == p1.shape == p2.shape or p0.ndim != 2:
        raise ValueError("planes_to_u8 needs three HxW planes of one shape")
    return _planes_unit_u8(p0, p1, p2, np.empty(p0.shape + (3,), np.uint8))


def gaussian_noise_u8(x: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """uint8 of `np.clip(x / 255 + noise, 0, 1) * 255` for uint8 `x` and float64 `noise` of the same shape."""
    x = np.ascontiguousarray(x)
    noise = np.ascontiguousarray(noise, dtype=np.float64)
    if x.shape != noise.shape:
        raise ValueError(f"noise shape {noise.shape} differs from the image's {x.shape}")
    return _noise_u8(x, noise, np.empty(x.shape, np.uint8))


def contrast_u8(x: np.ndarray, means: np.ndarray, c: float) -> np.ndarray:
    """uint8 of `np.clip((x / 255 - means) * c + means, 0, 1) * 255` for HxWxC uint8 `x` and C channel means."""
    x = np.ascontiguousarray(x)
    means = np.ascontiguousarray(np.asarray(means, np.float64).reshape(-1))
    return _contrast_u8(x, means, float(c), np.empty(x.shape, np.uint8))
