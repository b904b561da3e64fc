"""imgaug 0.4.0's `stylize_cartoon` algorithm, re-implemented with OpenCV and NumPy only.

imgaug cannot be imported on NumPy 2, so this module re-creates its steps (median blur, mean-shift
segmentation, Laplacian or Canny edges, edge-blob suppression, edge blending, HSV saturation) with the same
OpenCV calls, dtypes and rounding. It imports nothing from `davis_c`, so `bench/cartoon_vs_imgaug.py` can load
it by file path inside a NumPy<2 environment next to imgaug itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import cv2
import numpy as np

SMALL_IMAGE_MAX_SIDE = 400
"""Images whose longer side is below this use the smaller mean-shift windows and Canny edges."""

_GRAY = {"RGB": cv2.COLOR_RGB2GRAY, "BGR": cv2.COLOR_BGR2GRAY}
_TO_HSV = {"RGB": cv2.COLOR_RGB2HSV, "BGR": cv2.COLOR_BGR2HSV}
_FROM_HSV = {"RGB": cv2.COLOR_HSV2RGB, "BGR": cv2.COLOR_HSV2BGR}


def _median(image: np.ndarray, ksize: int) -> np.ndarray:
    """Median blur; even sizes are bumped to odd, sizes <= 1 are a no-op."""
    if ksize % 2 == 0:
        ksize += 1
    if ksize <= 1:
        return image
    return cv2.medianBlur(np.ascontiguousarray(image), ksize)


def mean_shift_windows(shape: tuple[int, ...], segmentation_size: float) -> tuple[int, int]:
    """(spatial, colour) window radii of `pyrMeanShiftFiltering` for an image of this shape."""
    if max(shape[0:2]) < SMALL_IMAGE_MAX_SIDE:
        return int(10 * segmentation_size), int(20 * segmentation_size)
    return int(15 * segmentation_size), int(40 * segmentation_size)


def opencv_mean_shift(image: np.ndarray, sp: int, sr: int) -> np.ndarray:
    """`cv2.pyrMeanShiftFiltering(image, sp, sr)` with its defaults (maxLevel 1, 5 iterations), as imgaug calls it."""
    dst = np.zeros_like(image)
    cv2.pyrMeanShiftFiltering(np.ascontiguousarray(image), sp=sp, sr=sr, dst=dst)
    return dst


MeanShift = Callable[[np.ndarray, int, int], np.ndarray]


def _segment(image: np.ndarray, segmentation_size: float, mean_shift: MeanShift) -> np.ndarray:
    """Mean-shift colour segmentation (skipped when the size is <= 0)."""
    if segmentation_size <= 0:
        return image
    sp, sr = mean_shift_windows(image.shape, segmentation_size)
    return mean_shift(np.ascontiguousarray(image), sp, sr)


def _gray(image: np.ndarray, colorspace: str) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(image), _GRAY[colorspace])


def edges_canny(image: np.ndarray, edge_prevalence: float, colorspace: str) -> np.ndarray:
    """Canny edges (small images) with both thresholds min(int(200 / prevalence), 254)."""
    thresh = min(int(200 * (1 / edge_prevalence)), 254)
    return cv2.Canny(_gray(image, colorspace), thresh, thresh)


def edges_laplacian(image: np.ndarray, edge_prevalence: float, colorspace: str) -> np.ndarray:
    """Squared Laplacian of the gray image, normalised at a percentile, median 3, zeroed below 50."""
    lap = cv2.Laplacian(_gray(image, colorspace) / 255.0, cv2.CV_64F)
    energy = np.abs(lap) ** 2
    vmax = np.percentile(energy, min(int(90 * (1 / edge_prevalence)), 99))
    if vmax <= 0:  # flat image: imgaug divides 0 by 0 and its NaNs cast to 0
        return np.zeros(energy.shape, np.uint8)
    norm = np.clip(energy, 0.0, vmax) / vmax
    edges = np.clip(np.round(norm * 255), 0, 255.0).astype(np.uint8)
    edges = _median(edges, 3)
    edges = edges.copy()
    edges[edges < 50] = 0
    return edges


def suppress_edge_blobs(edges: np.ndarray, size: int, thresh: int, inverse: bool) -> np.ndarray:
    """Zero edge pixels whose size x size neighbourhood holds >= thresh (or < thresh if inverse) edges."""
    counts = cv2.filter2D(edges / 255.0, -1, np.ones((size, size), dtype=np.float32))
    mask = counts < thresh if inverse else counts >= thresh
    out = edges.copy()
    out[mask] = 0
    return out


def blend_edges(image: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Darken the image towards black where edges are set."""
    keep = np.tile((1.0 - edges / 255.0)[..., np.newaxis], (1, 1, 3))
    return np.clip(np.round(image * keep), 0.0, 255.0).astype(np.uint8)


def saturate(image: np.ndarray, factor: float, colorspace: str) -> np.ndarray:
    """Multiply the uint8 HSV saturation by `factor` (truncating); a no-op when factor is about 1."""
    if np.isclose(factor, 1.0, atol=1e-2):
        return image.copy()
    hsv = cv2.cvtColor(np.ascontiguousarray(image), _TO_HSV[colorspace])
    hsv[:, :, 1] = np.clip(hsv[:, :, 1].astype(np.int32) * factor, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, _FROM_HSV[colorspace])


def stylize_cartoon(image: np.ndarray, blur_ksize: float = 3, segmentation_size: float = 1.0,
                    saturation: float = 2.0, edge_prevalence: float = 1.0, suppress_edges: bool = True,
                    from_colorspace: str = "RGB", mean_shift: MeanShift = opencv_mean_shift,
                    steps: Mapping[str, Callable] | None = None) -> np.ndarray:
    """Cartoon-style an HxWx3 uint8 image, step for step as imgaug 0.4.0's `stylize_cartoon`.

    `from_colorspace` ("RGB" or "BGR") only affects the grayscale edge image and the HSV saturation step.
    `mean_shift(image, sp, sr)` is the segmentation call (default: OpenCV's, as imgaug; the builder passes
    the bit-identical `davis_c.corruptions.meanshift.pyr_mean_shift_filtering`). `steps` may replace
    "edges_laplacian", "suppress_edge_blobs" and "blend_edges" by equivalents (the builder's faster kernels).
    """
    step = {"edges_laplacian": edges_laplacian, "suppress_edge_blobs": suppress_edge_blobs,
            "blend_edges": blend_edges, **(steps or {})}
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 image, got {image.dtype} {image.shape}")
    if from_colorspace not in _GRAY:
        raise ValueError(f"from_colorspace must be RGB or BGR, got {from_colorspace!r}")
    blur_ksize = max(int(np.round(blur_ksize)), 1)
    segmentation_size = max(segmentation_size, 0.0)
    saturation = max(saturation, 0.0)
    small = max(image.shape[0:2]) < SMALL_IMAGE_MAX_SIDE
    seg = _segment(_median(image, blur_ksize), segmentation_size, mean_shift)
    find = edges_canny if small else step["edges_laplacian"]
    edges = ((find(seg, edge_prevalence, from_colorspace) > 100) * 255).astype(np.uint8)
    if suppress_edges:
        edges = step["suppress_edge_blobs"](edges, 3, 8, inverse=False)   # dense 3x3 blobs
        edges = step["suppress_edge_blobs"](edges, 5, 3, inverse=True)    # lone few-pixel edges
    return saturate(step["blend_edges"](seg, edges), saturation, from_colorspace)
