"""The DAVIS-C `cartoon` corruption: imgaug's `stylize_cartoon` as the official script called it.

The official script (`davisc_create.py`) passes the **BGR** frame from `cv2.imread` to `stylize_cartoon`
with `from_colorspace` left at RGB, so the edge grayscale weighs blue with 0.299 and red with 0.114 (and the
HSV round trip runs on swapped channels). The faithful default reproduces that; `Options.colour_fix` passes
the RGB frame as RGB instead. The mean-shift segmentation is `davis_c.corruptions.meanshift`, bit-identical to
the `cv2.pyrMeanShiftFiltering` call imgaug makes and several times faster; edge finding, blob suppression and
blending use the bit-identical kernels of `cartoon_kernels`.
"""

from __future__ import annotations

import numpy as np

from davis_c.corruptions.base import Corruption, Frames, Options, swap_rb
from davis_c.corruptions.cartoon_cv import stylize_cartoon
from davis_c.corruptions.cartoon_kernels import FAST_STEPS
from davis_c.corruptions.meanshift import pyr_mean_shift_filtering

EDGE_PREVALENCE = 0.8

CARTOON_PARAMS: dict[int, dict[str, float]] = {
    sev: {"blur_ksize": k, "segmentation_size": s, "saturation": a}
    for sev, k, s, a in zip(range(1, 6), (1, 1, 1, 3, 5), (1.0, 1.0, 1.0, 1.2, 1.5), (1.0, 1.0, 1.0, 1.5, 2.0))
}
"""Severity -> `stylize_cartoon` arguments of the official script (edge_prevalence 0.8, suppress_edges)."""


def cartoon_frame(rgb: np.ndarray, severity: int, colour_fix: bool = False) -> np.ndarray:
    """Cartoon one HxWx3 uint8 RGB frame; returns RGB uint8."""
    p = CARTOON_PARAMS[severity]
    kwargs = dict(p, edge_prevalence=EDGE_PREVALENCE, suppress_edges=True, from_colorspace="RGB",
                  mean_shift=pyr_mean_shift_filtering, steps=FAST_STEPS)
    if colour_fix:
        return stylize_cartoon(rgb, **kwargs)
    return swap_rb(stylize_cartoon(swap_rb(rgb), **kwargs))


def apply_cartoon(frames: Frames, severity: int, rng: np.random.Generator, options: Options) -> list[np.ndarray]:
    """Video-level apply: every frame independently (deterministic, `rng` unused)."""
    return [cartoon_frame(np.asarray(f), severity, options.colour_fix) for f in frames]


CARTOON = Corruption(
    name="cartoon",
    apply=apply_cartoon,
    params=CARTOON_PARAMS,
    random=False,
    per_frame=True,
    description="imgaug 0.4.0 stylize_cartoon (OpenCV re-implementation), BGR frame as RGB as in the official call",
)
