"""Bit-exact, fused numba versions of ImageNet-C `brightness` and `saturate` (skimage HSV round trip).

`skimage.color.rgb2hsv` / `hsv2rgb` (float64) are replayed per pixel with the same operations in the same order
(numba compiles without fast-math, so every IEEE operation rounds the same way): V = max, delta = max - min,
S = delta / V (0 when delta == 0), H from whichever of channel 0/1/2 equals V (the last one wins, as skimage
overwrites), H = (H / 6) % 1, then `floor(6H)` sector selection back to RGB. The result is clipped to [0, 1],
scaled by 255 and rounded half to even like `cv2.imwrite`. Tests check equality with skimage on real photos and
on adversarial pixels (grey, black, saturated).
"""

from __future__ import annotations

import numpy as np
from numba import njit

MODE_BRIGHTNESS = 0
MODE_SATURATE = 1


@njit(cache=True, nogil=True)
def _rgb_to_hsv(r, g, b):  # pragma: no cover - compiled
    v = max(r, g, b)
    delta = v - min(r, g, b)
    if delta == 0.0:
        return 0.0, 0.0, v
    s = delta / v
    h = 0.0
    if r == v:
        h = (g - b) / delta
    if g == v:
        h = 2.0 + (b - r) / delta
    if b == v:
        h = 4.0 + (r - g) / delta
    return (h / 6.0) % 1.0, s, v


@njit(cache=True, nogil=True)
def _hsv_to_rgb(h, s, v):  # pragma: no cover - compiled
    hi = np.floor(h * 6)
    f = h * 6 - hi
    p = v * (1 - s)
    q = v * (1 - f * s)
    t = v * (1 - (1 - f) * s)
    k = int(hi) % 6
    if k == 0:
        return v, t, p
    if k == 1:
        return q, v, p
    if k == 2:
        return p, v, t
    if k == 3:
        return p, q, v
    if k == 4:
        return t, p, v
    return v, p, q


@njit(cache=True, nogil=True)
def _to_u8(x):  # pragma: no cover - compiled
    y = np.rint(min(max(x, 0.0), 1.0) * 255)
    return np.uint8(min(max(y, 0.0), 255.0))


@njit(cache=True, nogil=True)
def _hsv_adjust(img, mode, a, b):  # pragma: no cover - compiled
    height, width, _ = img.shape
    out = np.empty_like(img)
    for i in range(height):
        for j in range(width):
            h, s, v = _rgb_to_hsv(img[i, j, 0] / 255.0, img[i, j, 1] / 255.0, img[i, j, 2] / 255.0)
            if mode == MODE_BRIGHTNESS:
                v = min(max(v + a, 0.0), 1.0)
            else:
                s = min(max(s * a + b, 0.0), 1.0)
            r, g, bl = _hsv_to_rgb(h, s, v)
            out[i, j, 0] = _to_u8(r)
            out[i, j, 1] = _to_u8(g)
            out[i, j, 2] = _to_u8(bl)
    return out


def brightness_u8(x: np.ndarray, c: float) -> np.ndarray:
    """uint8 result of ImageNet-C brightness with offset `c` on HxWx3 uint8 `x` (channel order as given)."""
    return _hsv_adjust(np.ascontiguousarray(x, dtype=np.uint8), MODE_BRIGHTNESS, float(c), 0.0)


def saturate_u8(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """uint8 result of ImageNet-C saturate with S * a + b on HxWx3 uint8 `x` (channel order as given)."""
    return _hsv_adjust(np.ascontiguousarray(x, dtype=np.uint8), MODE_SATURATE, float(a), float(b))
