"""DAVIS-C corruption registry: `CORRUPTIONS[name] -> Corruption` for the 14 DAVIS-C names.

`cartoon` (module `cartoon`) and `style1..4` (module `style`) are imported lazily by `get()` / `registry()` so
that importing this package never loads the stylisation backends. `FILE_LEVEL` names corruptions whose official
procedure works on the source *files* (crf_compression: ffmpeg reads the JPEGs) and the function the builder uses.
"""

from __future__ import annotations

from collections.abc import Callable

from davis_c.corruptions.base import CORRUPTION_NAMES, STRENGTHS, Corruption, Options
from davis_c.corruptions.crf import CRF_CORRUPTION, compress_files
from davis_c.corruptions.imagenet_c import IMAGENET_C
from davis_c.corruptions.temporal import MOTION_BLUR_CORRUPTION
from davis_c.errors import UserError

CORRUPTIONS: dict[str, Corruption] = {
    **IMAGENET_C,
    "motion_blur": MOTION_BLUR_CORRUPTION,
    "crf_compression": CRF_CORRUPTION,
}
"""Eagerly registered corruptions; `registry()` adds cartoon and style1..4."""

FILE_LEVEL: dict[str, Callable] = {"crf_compression": compress_files}

STYLE_NAMES = ("style1", "style2", "style3", "style4")


def _load_lazy() -> None:
    """Register cartoon and style1..4 (separate modules with heavier dependencies) into `CORRUPTIONS`."""
    if "cartoon" not in CORRUPTIONS:
        from davis_c.corruptions.cartoon import CARTOON

        CORRUPTIONS["cartoon"] = CARTOON
    if not all(s in CORRUPTIONS for s in STYLE_NAMES):
        from davis_c.corruptions.style import STYLES

        CORRUPTIONS.update({name: STYLES[name] for name in STYLE_NAMES})


def registry() -> dict[str, Corruption]:
    """All 14 corruptions, in the official order."""
    _load_lazy()
    return {name: CORRUPTIONS[name] for name in CORRUPTION_NAMES}


def get(name: str) -> Corruption:
    """The corruption called `name`; a `UserError` listing the valid names otherwise."""
    if name not in CORRUPTION_NAMES:
        raise UserError(f"unknown corruption {name!r}; choose from {', '.join(CORRUPTION_NAMES)}")
    if name not in CORRUPTIONS:
        try:
            if name == "cartoon":
                from davis_c.corruptions.cartoon import CARTOON

                CORRUPTIONS["cartoon"] = CARTOON
            else:
                _load_lazy()
        except ImportError as exc:
            raise UserError(f"corruption {name!r} is unavailable: {exc}") from None
    return CORRUPTIONS[name]


__all__ = ["CORRUPTIONS", "CORRUPTION_NAMES", "FILE_LEVEL", "STRENGTHS", "Corruption", "Options", "get", "registry"]
