"""Shared shapes for DAVIS-C corruptions: strengths, options, the `Corruption` record, uint8 and channel conversion."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

STRENGTHS: dict[str, int] = {"low": 3, "med": 4, "high": 5}
"""DAVIS-C strength name -> ImageNet-C severity."""

CORRUPTION_NAMES: tuple[str, ...] = (
    "gaussian_noise", "contrast", "brightness", "saturate", "glass_blur", "defocus_blur", "pixelate",
    "cartoon", "motion_blur", "crf_compression", "style1", "style2", "style3", "style4",
)


@dataclass(frozen=True)
class Options:
    """Run-wide options a corruption may read (all have faithful defaults)."""

    colour_fix: bool = False          # correct the official BGR-as-RGB quirks (cartoon, colour preservation)
    style_backend: str = "onnx"       # "onnx" (offline default) or "tfhub" (paper-faithful)
    styles_dir: Path | None = None    # folder with the four official style images 1.png..4.png
    style_model: str | None = None    # tfhub: hub URL or local SavedModel directory
    ffmpeg: str | None = None         # ffmpeg executable (default: system ffmpeg, else imageio-ffmpeg's)
    extra: dict[str, Any] = field(default_factory=dict)


Frames = Sequence[np.ndarray]
ApplyFn = Callable[[Frames, int, np.random.Generator, Options], list[np.ndarray]]


@dataclass(frozen=True)
class Corruption:
    """A video-level corruption: `apply(frames, severity, rng, options) -> frames`.

    Frames in and out are HxWx3 RGB uint8. `params` maps severity (1..5) to the official parameters.
    `random` says whether the output depends on `rng`; `same_as` names a severity whose output this one
    reuses (DAVIS-C's style low == med) so the builder need not compute it twice.
    """

    name: str
    apply: ApplyFn
    params: dict[int, Any]
    random: bool = False
    per_frame: bool = True
    same_as: dict[int, int] = field(default_factory=dict)
    description: str = ""


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float image in 0..255 -> uint8 as `cv2.imwrite` did it: round half to even, then saturate."""
    if x.dtype == np.uint8:
        return x
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def swap_rb(image: np.ndarray) -> np.ndarray:
    """RGB <-> BGR as a new contiguous array (OpenCV's channel swap for uint8 HxWx3: ~10x a NumPy [..., ::-1] copy)."""
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(image[..., ::-1])
