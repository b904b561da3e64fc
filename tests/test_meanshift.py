"""The numba `pyr_mean_shift_filtering` must equal OpenCV's `pyrMeanShiftFiltering` bit for bit."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from davis_c.corruptions import cartoon_cv as cc
from davis_c.corruptions.meanshift import pyr_mean_shift_filtering


def _photo(name: str, h: int, w: int, offset: int = 0) -> np.ndarray:
    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    img = np.ascontiguousarray(img[offset:offset + h, offset:offset + w, :3])
    return cv2.resize(img, (w, h)) if img.shape[:2] != (h, w) else img


def _opencv(image: np.ndarray, sp: float, sr: float, max_level: int = 1) -> np.ndarray:
    return cv2.pyrMeanShiftFiltering(image, sp, sr, maxLevel=max_level)


@pytest.mark.parametrize("sp,sr", [(15, 40), (18, 48), (22, 60), (10, 20), (7, 30)])
def test_equals_opencv_on_photographs(sp, sr):
    """The cartoon windows of DAVIS-C (and small-image ones) on real textures, odd sizes included."""
    for name, h, w in (("astronaut", 97, 131), ("chelsea", 120, 161), ("coffee", 64, 200)):
        img = _photo(name, h, w)
        np.testing.assert_array_equal(pyr_mean_shift_filtering(img, sp, sr), _opencv(img, sp, sr), err_msg=name)


@pytest.mark.parametrize("max_level", [0, 1, 2])
def test_equals_opencv_at_every_pyramid_depth(max_level):
    img = _photo("rocket", 75, 90, offset=100)
    np.testing.assert_array_equal(pyr_mean_shift_filtering(img, 9, 35, max_level=max_level),
                                  _opencv(img, 9, 35, max_level))


def test_equals_opencv_on_noise_flat_and_tiny_images():
    """Random noise (many non-converging shifts), a flat image (count never 0) and 1-3 pixel sides."""
    rng = np.random.default_rng(0)
    cases = [rng.integers(0, 256, (41, 57, 3), dtype=np.uint8), np.full((20, 30, 3), 77, np.uint8),
             rng.integers(0, 256, (1, 9, 3), dtype=np.uint8), rng.integers(0, 256, (3, 2, 3), dtype=np.uint8)]
    for img in cases:
        np.testing.assert_array_equal(pyr_mean_shift_filtering(img, 6, 25), _opencv(img, 6, 25), err_msg=str(img.shape))


def test_full_davis_frame_equals_opencv():
    """One 854x480 frame at the high-strength window (22, 60): the size the builder runs."""
    img = np.ascontiguousarray(cv2.resize(skimage.data.astronaut(), (854, 480)))
    np.testing.assert_array_equal(pyr_mean_shift_filtering(img, 22, 60), _opencv(img, 22, 60))


def test_cartoon_uses_it_and_matches_the_opencv_path():
    img = _photo("chelsea", 120, 410)   # longer side >= 400: the Laplacian branch with (22, 60)
    fast = cc.stylize_cartoon(img, 5, 1.5, 2.0, 0.8, mean_shift=pyr_mean_shift_filtering)
    np.testing.assert_array_equal(fast, cc.stylize_cartoon(img, 5, 1.5, 2.0, 0.8))


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        pyr_mean_shift_filtering(np.zeros((4, 4), np.uint8), 5, 10)
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        pyr_mean_shift_filtering(np.zeros((4, 4, 3), np.float32), 5, 10)
    with pytest.raises(ValueError, match="max_level"):
        pyr_mean_shift_filtering(np.zeros((4, 4, 3), np.uint8), 5, 10, max_level=9)


def test_large_windows_take_the_scalar_path_and_equal_opencv():
    """sr = 255 is the widest exact 16-bit colour test; sr >= 256 and windows over 257 rows use the portable loop."""
    img = _photo("astronaut", 40, 52)
    img[::3, ::2] = (255, 0, 255)           # squared distances far above 2^16: the saturating sums
    for sr in (255, 256, 300):
        np.testing.assert_array_equal(pyr_mean_shift_filtering(img, 6, sr), _opencv(img, 6, sr), err_msg=str(sr))
    tall = _photo("coffee", 270, 9)
    np.testing.assert_array_equal(pyr_mean_shift_filtering(tall, 135, 30, max_level=0), _opencv(tall, 135, 30, 0))


@pytest.mark.parametrize("lanes", [16, 32])
def test_simd_window_sums_equal_the_scalar_loop(lanes):
    """Both vector widths on random windows (n below, at and above the lane count, 1 to 257 rows, saturated
    colours), each with a pixel exactly on the colour sphere."""
    from numba import njit

    from davis_c.corruptions import meanshift as ms
    from davis_c.corruptions.simd_window import make_window_sums

    simd = make_window_sums(lanes)

    @njit
    def both(planes, minx, n, miny, rows, c0, c1, c2, isr2):
        return (simd(planes, minx, n, miny, rows, c0, c1, c2, isr2),
                ms._window_sums_scalar(planes, minx, n, miny, rows, c0, c1, c2, isr2))

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 90, 3), dtype=np.uint8)
    image[:150, :45] = rng.choice([0, 255], (150, 45, 3))     # saturated colours: the largest squares
    image[-257:, -40:] = 255                                   # a full-height white window: lane sums of 2^16 - 1
    planes = ms._planes(image)
    cases = [(50, 40, 43, 257, (255, 255, 255), 0), (0, 90, 0, 257, (255, 0, 255), 65534), (0, 90, 0, 257, (0, 0, 0), 65025)]
    for _ in range(80):
        minx, n, miny, rows = (int(v) for v in (rng.integers(0, 40), rng.integers(1, 51), rng.integers(0, 40),
                                                   rng.integers(1, 258)))
        rows = min(rows, 300 - miny)
        # the colour test's boundary: one window pixel lies exactly at distance sqrt(isr2)
        edge = image[miny + rng.integers(rows), minx + rng.integers(n)].astype(np.int64)
        centre = np.clip(edge + rng.integers(-147, 148, 3), 0, 255)
        cases.append((minx, n, miny, rows, tuple(int(c) for c in centre), int(((edge - centre) ** 2).sum())))
    for minx, n, miny, rows, (c0, c1, c2), isr2 in cases:
        got, want = both(planes, minx, n, miny, rows, c0, c1, c2, isr2)
        assert got == want, (minx, n, miny, rows, c0, c1, c2, isr2)


def test_window_dispatch_is_exact_at_the_lane_limits():
    """Full-height white windows (the largest lane sums) on both sides of MAX_ROWS, every tail width, and windows
    on both sides of MAX_COLS."""
    from davis_c.corruptions import meanshift as ms

    wide = ms._planes(np.full((2, ms.MAX_COLS + 40, 3), 200, np.uint8))
    for n in (ms.MAX_COLS, ms.MAX_COLS + 1, ms.MAX_COLS + 40):      # the lane-index limit, both sides
        args = (wide, 0, n, 0, 2, 200, 200, 200, 0)
        assert ms._window(*args) == ms._window_sums_scalar(*args) == (
            2 * n, 400 * n, 400 * n, 400 * n, n * (n - 1), n), n
    planes = ms._planes(np.full((300, 100, 3), 255, np.uint8))
    for rows in (ms.MAX_ROWS - 1, ms.MAX_ROWS, ms.MAX_ROWS + 1, 300):
        for n in (1, 15, 16, 17, 31, 32, 33, 37, 45, 64, 65, 100):
            args = (planes, 0, n, 0, rows, 255, 255, 255, 0)
            assert ms._window(*args) == ms._window_sums_scalar(*args) == (
                n * rows, 255 * n * rows, 255 * n * rows, 255 * n * rows, rows * n * (n - 1) // 2,
                n * rows * (rows - 1) // 2), (rows, n)


def test_kernel_stamp_matches_simd_window_source():
    """numba caches meanshift.py's kernels by that file's content: the stamp there must follow simd_window.py."""
    import hashlib
    from pathlib import Path

    from davis_c.corruptions import meanshift, simd_window

    digest = hashlib.sha256(Path(simd_window.__file__).read_bytes()).hexdigest()[:16]
    assert meanshift.SIMD_WINDOW_SHA256 == digest, "update SIMD_WINDOW_SHA256 in meanshift.py"
