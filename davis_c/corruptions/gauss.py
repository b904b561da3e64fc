"""Glass blur's two Gaussian filters, fused with their uint8 steps, bit-identical to skimage/scipy.

ImageNet-C's glass blur calls `skimage.filters.gaussian(x / 255, sigma, channel_axis=-1)`, i.e.
`scipy.ndimage.gaussian_filter` with `mode="nearest"` and `truncate=4`: a 1-D correlation along axis 0 and then
along axis 1 (float64 in between), with the symmetric-kernel arithmetic of scipy's `NI_Correlate1D`:
`out = x[i] * w[0]`, then `out += (x[i - k] + x[i + k]) * w[k]` for k = r, r-1, ..., 1, edges clamped.

This module does the same operations per pixel in the same order (numba, no fast-math), row by row, with the
division by 255 before and the uint8 step after fused in; vectorising across pixels does not change any
pixel's sequence of operations. The weights are taken from scipy itself (the impulse response of
`gaussian_filter1d`, which is the weight vector exactly).

scipy wheels built with fused multiply-add contraction (e.g. macOS arm64) round differently; `exact_here()`
checks this build against scipy once per process, and `blur_u8` falls back to scipy where they differ, so the
output always equals scipy's on the running machine.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit
from scipy import ndimage

TRUNCATE = 4.0
"""skimage's and scipy's default: the kernel radius is int(4 * sigma + 0.5)."""


@functools.lru_cache(maxsize=16)
def weights(sigma: float) -> np.ndarray:
    """scipy's `gaussian_filter1d` weights for `sigma` (length 2r + 1), read off its impulse response."""
    radius = int(TRUNCATE * float(sigma) + 0.5)
    impulse = np.zeros(4 * radius + 1)
    impulse[2 * radius] = 1.0
    response = ndimage.gaussian_filter1d(impulse, sigma, mode="constant", cval=0.0, truncate=TRUNCATE)
    return np.ascontiguousarray(response[radius:3 * radius + 1])


@njit(cache=True, nogil=True)
def _vertical(xf, i, w, row):  # pragma: no cover - compiled
    """Axis-0 pass for output row i into `row` (length W*C)."""
    height = xf.shape[0]
    r = w.size // 2
    src = xf[i]
    for q in range(row.size):
        row[q] = src[q] * w[r]
    for k in range(r, 0, -1):
        a = xf[max(i - k, 0)]
        b = xf[min(i + k, height - 1)]
        wk = w[r - k]
        for q in range(row.size):
            row[q] += (a[q] + b[q]) * wk


@njit(cache=True, nogil=True)
def _edge_columns(row, channels, j0, j1, k, wk, out):  # pragma: no cover - compiled
    """Columns j0..j1-1 of the axis-1 pass for tap k, with scipy's "nearest" clamping."""
    width = row.size // channels
    for j in range(j0, j1):
        left = max(j - k, 0) * channels
        right = min(j + k, width - 1) * channels
        for c in range(channels):
            out[j * channels + c] += (row[left + c] + row[right + c]) * wk


@njit(cache=True, nogil=True)
def _horizontal(row, channels, w, out):  # pragma: no cover - compiled
    """Axis-1 pass over one row of W*C interleaved values into `out`."""
    width = row.size // channels
    r = w.size // 2
    for q in range(row.size):
        out[q] = row[q] * w[r]
    lo = min(r, width)
    hi = max(width - r, lo)
    for k in range(r, 0, -1):
        wk = w[r - k]
        step = k * channels
        # interior columns need no clamping; slices keep the indices non-negative, so LLVM vectorises
        dst = out[lo * channels:hi * channels]
        left = row[lo * channels - step:hi * channels - step]
        right = row[lo * channels + step:hi * channels + step]
        for q in range(dst.size):
            dst[q] += (left[q] + right[q]) * wk
        _edge_columns(row, channels, 0, lo, k, wk, out)
        _edge_columns(row, channels, hi, width, k, wk, out)


@njit(cache=True, nogil=True)
def _blur(x, w, rounding, out):  # pragma: no cover - compiled
    """Gaussian of x / 255 per row; uint8 by truncation of *255 (rounding 0) or clip*255 rounded (rounding 1)."""
    height, width, channels = x.shape
    n = width * channels
    xf = np.empty((height, n))
    flat = x.reshape(height, n)
    for i in range(height):
        for q in range(n):
            xf[i, q] = flat[i, q] / 255.0
    row = np.empty(n)
    res = np.empty(n)
    dst = out.reshape(height, n)
    for i in range(height):
        _vertical(xf, i, w, row)
        _horizontal(row, channels, w, res)
        for q in range(n):
            if rounding == 0:
                dst[i, q] = np.uint8(res[q] * 255)
            else:
                y = np.rint(min(max(res[q], 0.0), 1.0) * 255)
                dst[i, q] = np.uint8(min(max(y, 0.0), 255.0))
    return out


def _scipy(x: np.ndarray, sigma: float, rounding: int) -> np.ndarray:
    blurred = ndimage.gaussian_filter(x / 255.0, (sigma, sigma, 0), mode="nearest", truncate=TRUNCATE)
    if rounding == 0:
        return np.uint8(blurred * 255)
    return np.clip(np.rint(np.clip(blurred, 0, 1) * 255), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def exact_here() -> bool:
    """Whether the numba filter equals scipy's on this machine (a random 37x41 probe, glass blur's sigmas)."""
    probe = np.random.default_rng(0).integers(0, 256, (37, 41, 3), dtype=np.uint8)
    return all(np.array_equal(_blur(probe, weights(s), r, np.empty_like(probe)), _scipy(probe, s, r))
               for s in (0.7, 1.0, 1.5) for r in (0, 1))


def blur_u8(x: np.ndarray, sigma: float, rounding: int) -> np.ndarray:
    """uint8 of skimage's `gaussian(x / 255, sigma, channel_axis=-1)` for HxWxC uint8 `x`.

    rounding 0: `np.uint8(g * 255)` (truncation, glass blur's first filter); 1: `np.clip(g, 0, 1) * 255`
    rounded half to even (its last step, as `cv2.imwrite`).
    """
    x = np.ascontiguousarray(x)
    if x.dtype != np.uint8 or x.ndim != 3:
        raise ValueError(f"blur_u8 needs an HxWxC uint8 image, got {x.dtype} {x.shape}")
    if not exact_here():
        return _scipy(x, sigma, rounding)
    return _blur(x, weights(sigma), int(rounding), np.empty_like(x))
