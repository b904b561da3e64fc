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
