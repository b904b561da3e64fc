"""The seven ImageNet-C corruptions of DAVIS-C, as the official `davisc_create.py` ran them.

Fidelity notes (TTT-SPEC §5):
* The official script read frames with `cv2.imread` (BGR) and ran the ImageNet-C maths on that array. Each function
  here therefore gets a contiguous BGR uint8 array, so noise draws land on the same channels and reductions
  (contrast's mean) run in the same memory order. Results go back to RGB afterwards.
* Float results become uint8 like `cv2.imwrite` (round half to even, saturate): `base.to_uint8`.
* `brightness`/`saturate` run as a fused numba kernel equal bit for bit to skimage's HSV round trip (`hsv.py`),
  and so do the per-pixel tails of `gaussian_noise`/`contrast`/`defocus_blur` (`pointwise.py`) and glass blur's
  Gaussians (`gauss.py`); the NumPy/skimage versions stay here as the readable definitions.
* Constants are the ImageNet-C tables for severities 1..5 (DAVIS-C uses 3, 4, 5).
* Random corruptions take a `numpy.random.Generator`; `gaussian_noise` draws one `normal(size=HxWx3)` per frame and
  `glass_blur` one `integers(-d, d, size=(iters, H-2d, W-2d, 2))` block per frame, in frame order.
* `pixelate` is ImageNet-C's (PIL BOX down, PIL BOX up), not the `imagecorruptions` package's (BOX down, NEAREST up).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import skimage.color as skcolor
from PIL import Image
from skimage.filters import gaussian

from davis_c.corruptions import gauss, glass, hsv, pointwise
from davis_c.corruptions.base import Corruption, Frames, Options, swap_rb, to_uint8

GAUSSIAN_NOISE = {1: 0.08, 2: 0.12, 3: 0.18, 4: 0.26, 5: 0.38}
CONTRAST = {1: 0.4, 2: 0.3, 3: 0.2, 4: 0.1, 5: 0.05}
BRIGHTNESS = {1: 0.1, 2: 0.2, 3: 0.3, 4: 0.4, 5: 0.5}
SATURATE = {1: (0.3, 0), 2: (0.1, 0), 3: (2, 0), 4: (5, 0.1), 5: (20, 0.2)}
GLASS_BLUR = {1: (0.7, 1, 2), 2: (0.9, 2, 1), 3: (1, 2, 3), 4: (1.1, 3, 2), 5: (1.5, 4, 2)}  # sigma, delta, iters
DEFOCUS_BLUR = {1: (3, 0.1), 2: (4, 0.5), 3: (6, 0.5), 4: (8, 0.5), 5: (10, 0.5)}  # radius, alias blur
PIXELATE = {1: 0.6, 2: 0.5, 3: 0.4, 4: 0.3, 5: 0.25}

FrameFn = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def gaussian_noise(x: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """x/255 + N(0, c), clipped, x255 (float)."""
    c = GAUSSIAN_NOISE[severity]
    x = np.asarray(x) / 255.0
    return np.clip(x + rng.normal(size=x.shape, scale=c), 0, 1) * 255


def contrast(x: np.ndarray, severity: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """(x - per-channel mean) * c + mean, clipped, x255 (float)."""
    c = CONTRAST[severity]
    x = np.asarray(x) / 255.0
    means = np.mean(x, axis=(0, 1), keepdims=True)
    return np.clip((x - means) * c + means, 0, 1) * 255


def brightness(x: np.ndarray, severity: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """skimage HSV: V = clip(V + c); back to RGB, clipped, x255 (float)."""
    c = BRIGHTNESS[severity]
    x = skcolor.rgb2hsv(np.asarray(x) / 255.0)
    x[:, :, 2] = np.clip(x[:, :, 2] + c, 0, 1)
    return np.clip(skcolor.hsv2rgb(x), 0, 1) * 255


def saturate(x: np.ndarray, severity: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """skimage HSV: S = clip(S * a + b); back to RGB, clipped, x255 (float)."""
    a, b = SATURATE[severity]
    x = skcolor.rgb2hsv(np.asarray(x) / 255.0)
    x[:, :, 1] = np.clip(x[:, :, 1] * a + b, 0, 1)
    return np.clip(skcolor.hsv2rgb(x), 0, 1) * 255


def gaussian_noise_fast(x: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """`gaussian_noise` already rounded to uint8: the same draws, the tail fused in numba (`pointwise.py`)."""
    x = np.asarray(x)
    return pointwise.gaussian_noise_u8(x, rng.normal(size=x.shape, scale=GAUSSIAN_NOISE[severity]))


def contrast_fast(x: np.ndarray, severity: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """`contrast` already rounded to uint8: NumPy's channel means, the tail fused in numba (`pointwise.py`)."""
    x = np.asarray(x)
    return pointwise.contrast_u8(x, np.mean(x / 255.0, axis=(0, 1)), CONTRAST[severity])


def brightness_fast(x: np.ndarray, severity: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """`brightness` already rounded to uint8, by the bit-exact fused numba kernel (`hsv.py`)."""
    return hsv.brightness_u8(x, BRIGHTNESS[severity])


def saturate_fast(x: np.ndarray, severity: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """`saturate` already rounded to uint8, by the bit-exact fused numba kernel (`hsv.py`)."""
    return hsv.saturate_u8(x, *SATURATE[severity])


def glass_blur(x: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian, uint8 truncation, the official one-way "swap" loop (numba), Gaussian again, clipped, x255 (float)."""
    sigma, delta, iters = GLASS_BLUR[severity]
    x = np.asarray(x)
    y = np.uint8(gaussian(x / 255.0, sigma=sigma, channel_axis=-1) * 255)
    offsets = glass.draw_offsets(rng, x.shape[0], x.shape[1], delta, iters)
    y = glass.shuffle_pixels(y, offsets, delta)
    return np.clip(gaussian(y / 255.0, sigma=sigma, channel_axis=-1), 0, 1) * 255


def glass_blur_fast(x: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """`glass_blur` already rounded to uint8, both Gaussians fused with their uint8 steps (`gauss.py`)."""
    sigma, delta, iters = GLASS_BLUR[severity]
    x = np.asarray(x)
    y = gauss.blur_u8(x, sigma, rounding=0)
    offsets = glass.draw_offsets(rng, x.shape[0], x.shape[1], delta, iters)
    y = glass.shuffle_pixels(y, offsets, delta)
    return gauss.blur_u8(y, sigma, rounding=1)


def disk(radius: int, alias_blur: float = 0.1, dtype=np.float32) -> np.ndarray:
    """ImageNet-C's aliased disk kernel (grid [-8, 8] and 3x3 blur if r <= 8, else [-r, r] and 5x5)."""
    if radius <= 8:
        grid, ksize = np.arange(-8, 8 + 1), (3, 3)
    else:
        grid, ksize = np.arange(-radius, radius + 1), (5, 5)
    xx, yy = np.meshgrid(grid, grid)
    aliased = np.array((xx ** 2 + yy ** 2) <= radius ** 2, dtype=dtype)
    aliased /= np.sum(aliased)
    return cv2.GaussianBlur(aliased, ksize=ksize, sigmaX=alias_blur)


def defocus_blur(x: np.ndarray, severity: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Per-channel `cv2.filter2D` with the aliased disk, clipped, x255 (float)."""
    radius, alias = DEFOCUS_BLUR[severity]
    x = np.asarray(x) / 255.0
    kernel = disk(radius=radius, alias_blur=alias)
    channels = np.array([cv2.filter2D(x[:, :, d], -1, kernel) for d in range(3)]).transpose((1, 2, 0))
    return np.clip(channels, 0, 1) * 255


def defocus_blur_fast(x: np.ndarray, severity: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """`defocus_blur` already rounded to uint8: the same per-channel filters, the tail fused (`pointwise.py`)."""
    radius, alias = DEFOCUS_BLUR[severity]
    x = np.asarray(x) / 255.0
    kernel = disk(radius=radius, alias_blur=alias)
    return pointwise.planes_to_u8([cv2.filter2D(x[:, :, d], -1, kernel) for d in range(3)])


def pixelate(x: np.ndarray, severity: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """PIL BOX downscale to (int(W*c), int(H*c)), PIL BOX upscale back (uint8)."""
    c = PIXELATE[severity]
    img = Image.fromarray(np.asarray(x))
    w, h = img.size
    small = img.resize((int(w * c), int(h * c)), Image.BOX)
    return np.asarray(small.resize((w, h), Image.BOX))


def per_frame(fn: FrameFn) -> Callable[[Frames, int, np.random.Generator, Options], list[np.ndarray]]:
    """Lift a BGR per-frame function to the video interface (RGB uint8 in and out, frames in order)."""

    def apply(frames: Frames, severity: int, rng: np.random.Generator, options: Options | None = None):
        out = []
        for frame in frames:
            out.append(swap_rb(to_uint8(fn(swap_rb(np.asarray(frame)), severity, rng))))
        return out

    apply.__name__ = fn.__name__
    apply.__doc__ = fn.__doc__
    return apply


def _make(name: str, fn: FrameFn, params: dict, random: bool, description: str) -> Corruption:
    return Corruption(name=name, apply=per_frame(fn), params=params, random=random, per_frame=True,
                      description=description)


IMAGENET_C: dict[str, Corruption] = {
    "gaussian_noise": _make("gaussian_noise", gaussian_noise_fast, GAUSSIAN_NOISE, True, "additive N(0, sigma) noise"),
    "contrast": _make("contrast", contrast_fast, CONTRAST, False, "contrast towards the per-channel mean"),
    "brightness": _make("brightness", brightness_fast, BRIGHTNESS, False, "HSV value + c (skimage)"),
    "saturate": _make("saturate", saturate_fast, SATURATE, False, "HSV saturation * a + b (skimage)"),
    "glass_blur": _make("glass_blur", glass_blur_fast, GLASS_BLUR, True, "(sigma, delta, iterations) glass blur"),
    "defocus_blur": _make("defocus_blur", defocus_blur_fast, DEFOCUS_BLUR, False, "(radius, alias blur) disk filter"),
    "pixelate": _make("pixelate", pixelate, PIXELATE, False, "PIL BOX down/up by factor c"),
}
