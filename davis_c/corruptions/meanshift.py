"""OpenCV's `pyrMeanShiftFiltering`, bit for bit, with an explicit-SIMD window pass.

imgaug's `stylize_cartoon` (and so DAVIS-C's `cartoon`) segments every frame with
`cv2.pyrMeanShiftFiltering(image, sp, sr)` (defaults: `maxLevel=1`, at most 5 iterations, epsilon 1). With
OpenCV that call would be about 40% of the official procedure's CPU: it runs as a scalar loop with one
unpredictable branch per window pixel. This module keeps OpenCV's algorithm and arithmetic exactly and only changes how the window
sums are formed:

* the pyramid is OpenCV's own (`cv2.pyrDown`, `cv2.pyrUp`, `cv2.dilate` of the refinement mask);
* the window sums come from `davis_c.corruptions.simd_window` (branch-free, 16-bit lanes kept across the
  window's rows, over planar uint16 copies of the channels); integer sums do not depend on their order, so
  counts and sums equal OpenCV's. Windows too large for exact 16-bit lanes (`sr` >= 256, more than 257
  rows or more than 32768 columns) take a portable scalar loop with the same results;
* window bounds (`cvRound(x0 - sp)` in float32), the mean (`cvRound(sum * (1.0 / count))` in double,
  half to even), the colour test `d0^2 + d1^2 + d2^2 <= cvRound(sr^2)`, the stopping rule and the
  refinement mask of the finer level (`cdiff >= max(isr2, 16)` against the 8 neighbours of the coarse
  result, written at odd rows and columns, dilated 3x3) follow `modules/imgproc/src/segmentation.cpp`.

`tests/test_meanshift.py` checks equality with `cv2.pyrMeanShiftFiltering` on photographs, odd sizes,
several windows and pyramid depths.
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit

from davis_c.corruptions.simd_window import (
    MAX_COLS,
    MAX_ISR2,
    MAX_ROWS,
    SIMD_LANES,
    half_window_sums,
    window_sums,
)

assert SIMD_LANES <= 64, "PAD below must cover one vector block"

SIMD_WINDOW_SHA256 = "da70fb53f5e9c89f"
"""First 16 hex digits of the sha256 of simd_window.py. numba's on-disk cache of the functions below is keyed on
this file's content only, so editing simd_window.py must also change this line, or stale compiled kernels are
reused; `tests/test_meanshift.py` fails until it does."""

MAX_ITER = 5
"""OpenCV's default `TermCriteria(MAX_ITER + EPS, 5, 1)` of the Python binding."""
EPSILON = 1.0


PAD = 64
"""Zero columns right of each plane row, so that a vector block starting inside the row stays in the array."""


@njit(cache=True, nogil=True)
def _window_sums_scalar(planes, minx, n, miny, rows, c0, c1, c2, isr2):  # pragma: no cover - compiled
    """Portable window pass for windows too large for the 16-bit SIMD lanes (same results, slower).

    Indices are unsigned so that numba emits no negative-index wraparound (which makes LLVM gather).
    """
    count = 0
    s0 = 0
    s1 = 0
    s2 = 0
    sx = 0
    sy = 0
    ux = np.uint64(minx)
    for y in range(miny, miny + rows):
        uy = np.uint64(y)
        rc = 0
        for k in range(n):
            x = ux + np.uint64(k)
            t0 = np.int64(planes[0, uy, x])
            t1 = np.int64(planes[1, uy, x])
            t2 = np.int64(planes[2, uy, x])
            if (t0 - c0) ** 2 + (t1 - c1) ** 2 + (t2 - c2) ** 2 <= isr2:
                rc += 1
                s0 += t0
                s1 += t1
                s2 += t2
                sx += minx + k
        count += rc
        sy += y * rc
    return count, s0, s1, s2, sx, sy


@njit(cache=True, nogil=True)
def _window(planes, minx, n, miny, rows, c0, c1, c2, isr2):  # pragma: no cover - compiled
    """The window pass: SIMD where its 16-bit lanes are exact, else the scalar loop.

    A last block that fills at most half a vector runs with half-width vectors (e.g. 37 = 32 + 5 columns).
    """
    if isr2 >= MAX_ISR2 or rows > MAX_ROWS or n > MAX_COLS:
        return _window_sums_scalar(planes, minx, n, miny, rows, c0, c1, c2, isr2)
    rest = n % SIMD_LANES
    if rest == 0 or 2 * rest > SIMD_LANES:
        return window_sums(planes, minx, n, miny, rows, c0, c1, c2, isr2)
    full = n - rest
    a = half_window_sums(planes, minx + full, rest, miny, rows, c0, c1, c2, isr2)
    if full == 0:
        return a
    b = window_sums(planes, minx, full, miny, rows, c0, c1, c2, isr2)
    return a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], a[5] + b[5]


@njit(cache=True, nogil=True)
def _shift_pixel(planes, i, j, sp, isr2, max_iter, eps):  # pragma: no cover - compiled
    """Mean-shift one pixel from (j, i) with its own colour; returns the final colour (OpenCV's loop)."""
    height = planes.shape[1]
    width = planes.shape[2] - PAD
    x0 = j
    y0 = i
    c0 = np.int64(planes[0, i, j])
    c1 = np.int64(planes[1, i, j])
    c2 = np.int64(planes[2, i, j])
    for _ in range(max_iter):
        minx = max(int(np.rint(np.float32(x0) - sp)), 0)
        miny = max(int(np.rint(np.float32(y0) - sp)), 0)
        maxx = min(int(np.rint(np.float32(x0) + sp)), width - 1)
        maxy = min(int(np.rint(np.float32(y0) + sp)), height - 1)
        count, s0, s1, s2, sx, sy = _window(planes, minx, maxx - minx + 1, miny, maxy - miny + 1, c0, c1, c2, isr2)
        if count == 0:
            break
        icount = 1.0 / count
        x1 = int(np.rint(sx * icount))
        y1 = int(np.rint(sy * icount))
        m0 = np.int64(np.rint(s0 * icount))
        m1 = np.int64(np.rint(s1 * icount))
        m2 = np.int64(np.rint(s2 * icount))
        moved = abs(x1 - x0) + abs(y1 - y0) + (m0 - c0) ** 2 + (m1 - c1) ** 2 + (m2 - c2) ** 2
        stop = (x0 == x1 and y0 == y1) or moved <= eps
        x0 = x1
        y0 = y1
        c0 = m0
        c1 = m1
        c2 = m2
        if stop:
            break
    return c0, c1, c2


@njit(cache=True, nogil=True)
def _shift_level(planes, dst, mask, use_mask, sp, isr2, max_iter, eps):  # pragma: no cover - compiled
    """Mean-shift every pixel of one pyramid level (only masked ones when `use_mask`) into `dst`."""
    height = planes.shape[1]
    width = planes.shape[2] - PAD
    for i in range(height):
        for j in range(width):
            if use_mask and mask[i, j] == 0:
                continue
            c0, c1, c2 = _shift_pixel(planes, i, j, sp, isr2, max_iter, eps)
            dst[i, j, 0] = np.uint8(c0)
            dst[i, j, 1] = np.uint8(c1)
            dst[i, j, 2] = np.uint8(c2)


@njit(cache=True, nogil=True)
def _refine_mask(coarse, mask, isr22):  # pragma: no cover - compiled
    """Mark fine pixel (1 + 2i, 2j - 1) where coarse pixel (i, j) differs from any 8-neighbour by >= isr22."""
    h1, w1, _ = coarse.shape
    for i in range(1, h1 - 1):
        for j in range(1, w1 - 1):
            c0 = np.int32(coarse[i, j, 0])
            c1 = np.int32(coarse[i, j, 1])
            c2 = np.int32(coarse[i, j, 2])
            hit = 0
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    if (di != 0 or dj != 0) and hit == 0:
                        d0 = c0 - np.int32(coarse[i + di, j + dj, 0])
                        d1 = c1 - np.int32(coarse[i + di, j + dj, 1])
                        d2 = c2 - np.int32(coarse[i + di, j + dj, 2])
                        if d0 * d0 + d1 * d1 + d2 * d2 >= isr22:
                            hit = 1
            mask[1 + 2 * i, 2 * j - 1] = hit


def _planes(image: np.ndarray) -> np.ndarray:
    """3 x H x (W + PAD) uint16 copy of an HxWx3 uint8 image: one plane per channel, zero-padded on the right."""
    planes = np.zeros((3, image.shape[0], image.shape[1] + PAD), np.uint16)
    planes[:, :, : image.shape[1]] = np.moveaxis(image, 2, 0)
    return planes


def pyr_mean_shift_filtering(image: np.ndarray, sp: float, sr: float, max_level: int = 1,
                             max_iter: int = MAX_ITER, eps: float = EPSILON) -> np.ndarray:
    """`cv2.pyrMeanShiftFiltering(image, sp, sr, maxLevel=max_level)` for HxWx3 uint8; identical output."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"pyr_mean_shift_filtering needs an HxWx3 uint8 image, got {image.dtype} {image.shape}")
    if not 0 <= max_level <= 8:
        raise ValueError(f"max_level must be in 0..8, got {max_level}")
    srcs = [np.ascontiguousarray(image)]
    for _ in range(max_level):
        prev = srcs[-1]
        srcs.append(cv2.pyrDown(prev, dstsize=((prev.shape[1] + 1) // 2, (prev.shape[0] + 1) // 2)))
    isr2 = int(np.rint(float(sr) * float(sr)))
    max_iter = min(max(int(max_iter), 1), 100)
    dst = np.zeros_like(srcs[max_level])
    empty = np.zeros((1, 1), np.uint8)
    for level in range(max_level, -1, -1):
        src = srcs[level]
        sp_level = np.float32(max(np.float32(sp / (1 << level)), np.float32(1.0)))
        if level < max_level:
            mask = np.zeros(src.shape[:2], np.uint8)
            _refine_mask(dst, mask, max(isr2, 16))
            mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
            dst = cv2.pyrUp(dst, dstsize=(src.shape[1], src.shape[0]))
            _shift_level(_planes(src), dst, mask, True, sp_level, isr2, max_iter, float(max(eps, 0.0)))
        else:
            _shift_level(_planes(src), dst, empty, False, sp_level, isr2, max_iter, float(max(eps, 0.0)))
    return dst
