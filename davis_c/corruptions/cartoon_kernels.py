"""Faster, bit-identical replacements for three steps of `cartoon_cv.stylize_cartoon`.

* `edges_laplacian`: the same OpenCV Laplacian and NumPy percentile; the squaring, clipping, scaling and
  rounding run as one numba pass (same float64 operations in the same order). The final "zero below 50" is
  dropped because `stylize_cartoon` only keeps values above 100, which it does not change.
* `suppress_edge_blobs`: the edge map is binary (0 or 255), so `filter2D(edges / 255, ones)` counts edge
  pixels exactly; an unnormalised `cv2.boxFilter` of the 0/1 map with the same (reflect-101) border gives the
  same integers.
* `blend_edges`: `round(image * (1 - edges / 255))` per pixel without the tiled float64 temporaries.

`FAST_STEPS` plugs them into `stylize_cartoon`; `tests/test_cartoon.py` checks each against the plain step and
the whole corruption against the plain pipeline.
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit

from davis_c.corruptions import cartoon_cv as cc


@njit(cache=True, nogil=True)
def _energy(lap, out):  # pragma: no cover - compiled
    flat_l = lap.ravel()
    flat_o = out.ravel()
    for k in range(flat_l.size):
        a = abs(flat_l[k])
        flat_o[k] = a * a
    return out


@njit(cache=True, nogil=True)
def _scale_u8(energy, vmax, out):  # pragma: no cover - compiled
    flat_e = energy.ravel()
    flat_o = out.ravel()
    for k in range(flat_e.size):
        norm = min(max(flat_e[k], 0.0), vmax) / vmax
        flat_o[k] = np.uint8(min(max(np.rint(norm * 255), 0.0), 255.0))
    return out


@njit(cache=True, nogil=True)
def _blend(image, edges, out):  # pragma: no cover - compiled
    height, width, channels = image.shape
    for i in range(height):
        for j in range(width):
            keep = 1.0 - edges[i, j] / 255.0
            for c in range(channels):
                v = np.rint(image[i, j, c] * keep)
                out[i, j, c] = np.uint8(min(max(v, 0.0), 255.0))
    return out


def edges_laplacian(image: np.ndarray, edge_prevalence: float, colorspace: str) -> np.ndarray:
    """`cartoon_cv.edges_laplacian` for the `> 100` test that follows it (values below 50 are not zeroed)."""
    lap = cv2.Laplacian(cc._gray(image, colorspace) / 255.0, cv2.CV_64F)
    energy = _energy(lap, np.empty_like(lap))
    vmax = np.percentile(energy, min(int(90 * (1 / edge_prevalence)), 99))
    if vmax <= 0:
        return np.zeros(energy.shape, np.uint8)
    return cc._median(_scale_u8(energy, float(vmax), np.empty(energy.shape, np.uint8)), 3)


def suppress_edge_blobs(edges: np.ndarray, size: int, thresh: int, inverse: bool) -> np.ndarray:
    """`cartoon_cv.suppress_edge_blobs` for a binary (0/255) uint8 edge map."""
    ones = (edges == 255).astype(np.uint8)
    if ones.sum() * 255 != int(edges.sum(dtype=np.int64)):
        return cc.suppress_edge_blobs(edges, size, thresh, inverse)      # not binary: the general path
    counts = cv2.boxFilter(ones, -1, (size, size), normalize=False, borderType=cv2.BORDER_REFLECT_101)
    mask = counts < thresh if inverse else counts >= thresh
    out = edges.copy()
    out[mask] = 0
    return out


def blend_edges(image: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`cartoon_cv.blend_edges` for HxWx3 uint8 `image` and HxW uint8 `edges`."""
    image = np.ascontiguousarray(image)
    return _blend(image, np.ascontiguousarray(edges), np.empty_like(image))


FAST_STEPS = {"edges_laplacian": edges_laplacian, "suppress_edge_blobs": suppress_edge_blobs,
              "blend_edges": blend_edges}
"""Step name -> replacement, for `cartoon_cv.stylize_cartoon(..., steps=FAST_STEPS)`."""
