"""The DAVIS-C `style1..4` corruptions: Magenta arbitrary stylisation with the four official style images.

Per frame, as the official script: content RGB / 255 -> float32; stylised by the chosen backend; at
severity <= 4 the content colours are kept through the YCrCb mix (`colour.preserve_colours`, with the
official channel-order quirk unless `Options.colour_fix`); x255 and rounded as `cv2.imwrite` did. Low (3)
and med (4) are the same transform, so the records say `same_as={4: 3}`.

Backends (`Options.style_backend`): `onnx` (offline default, `stylize_onnx`) and `tfhub` (paper-faithful,
`stylize_tfhub`). Each backend instance and each prepared style is built once per process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from davis_c.corruptions import stylize_onnx, stylize_tfhub
from davis_c.corruptions.base import Corruption, Frames, Options, to_uint8
from davis_c.corruptions.colour import preserve_colours
from davis_c.corruptions.stylize_onnx import OnnxBackend
from davis_c.corruptions.stylize_tfhub import TfHubBackend
from davis_c.errors import UserError
from davis_c.hashing import sha256_file

BACKENDS = {
    "onnx": lambda model, mode: OnnxBackend(model, mode),
    "tfhub": lambda model, mode: TfHubBackend(model),
}
"""`--style-backend` name -> factory(model, onnx_mode) of an object with `prepare(style_rgb)` and
`stylize(content01, state)`. `Options.extra["style_onnx_mode"]` picks the onnx mode: full (default) or tiles."""

DOWNLOAD_HINT = "python -m davis_c download styles --out DIR"
STYLE_PARAMS: dict[int, dict[str, bool]] = {sev: {"preserve_colours": sev <= 4} for sev in range(1, 6)}
"""Severity -> official parameters: colours preserved at severity <= 4 (low, med), style colours at 5."""


def style_path(styles_dir: Path | str | None, index: int) -> Path:
    """`<styles_dir>/<index>.png`; a clear UserError when the folder is not given or the file is missing."""
    if styles_dir is None:
        raise UserError(f"style{index} needs the official style images: pass --styles-dir DIR "
                        f"(get them with `{DOWNLOAD_HINT}`)")
    path = Path(styles_dir) / f"{index}.png"
    if not path.is_file():
        raise UserError(f"style image not found: {path} (get the four style images with `{DOWNLOAD_HINT}`)")
    return path


def read_style(path: Path) -> np.ndarray:
    """A style image as HxWx3 uint8 RGB (read as the official script: cv2.imread, BGR -> RGB)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UserError(f"cannot read style image {path} (not an image file?)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def backend_key(options: Options) -> tuple[str, str | None, str]:
    """(backend name, model or None, onnx mode) of these options."""
    model = str(options.style_model) if options.style_model else None
    return options.style_backend, model, str(options.extra.get("style_onnx_mode", "full"))


@lru_cache(maxsize=4)
def get_backend(name: str, model: str | None, mode: str = "full"):
    """The backend instance for (name, model, onnx mode), built once per process."""
    if name not in BACKENDS:
        raise UserError(f"unknown style backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return BACKENDS[name](model, mode)


@lru_cache(maxsize=16)
def _prepared(key: tuple[str, str | None, str], path: str, mtime_ns: int, size: int):
    return get_backend(*key).prepare(read_style(Path(path)))


def prepared_style(options: Options, index: int):
    """The backend's style state (ONNX bottleneck / TF tensor) for style `index`, computed once."""
    path = style_path(options.styles_dir, index)
    st = path.stat()
    return _prepared(backend_key(options), str(path.resolve()), st.st_mtime_ns, st.st_size)


def style_fingerprint(options: Options, index: int) -> dict[str, str | None]:
    """What a style variant depends on, for the build manifest: backend, model, style image and ONNX hashes."""
    path = style_path(options.styles_dir, index)
    info: dict[str, str | None] = {"style_backend": options.style_backend, "style_image": path.name,
                                   "style_image_sha256": sha256_file(path)}
    if options.style_backend == "onnx":
        for name in ("arbitrary_predict", "arbitrary_transform"):
            info[f"{name}_onnx_sha256"] = sha256_file(stylize_onnx.model_path(name))
        info["onnx_mode"] = backend_key(options)[2]
        if info["onnx_mode"] == "tiles":
            info["onnx_tile"], info["onnx_overlap"] = str(stylize_onnx.TILE), str(stylize_onnx.OVERLAP)
    else:
        info["style_model"] = str(options.style_model) if options.style_model else stylize_tfhub.HUB_URL
    return info


def stylize_frame(rgb: np.ndarray, state, severity: int, options: Options) -> np.ndarray:
    """One HxWx3 uint8 RGB frame -> stylised uint8 RGB frame."""
    content = (rgb / 255.0).astype(np.float32)
    out = get_backend(*backend_key(options)).stylize(content, state)
    if STYLE_PARAMS[severity]["preserve_colours"]:
        out = preserve_colours(content, out, options.colour_fix)
    return to_uint8(out * np.float32(255.0))


def _make_apply(index: int):
    def apply(frames: Frames, severity: int, rng: np.random.Generator, options: Options) -> list[np.ndarray]:
        if severity not in STYLE_PARAMS:
            raise ValueError(f"style{index}: severity must be 1..5, got {severity}")
        state = prepared_style(options, index)
        return [stylize_frame(np.asarray(f), state, severity, options) for f in frames]

    apply.__doc__ = f"Stylise every frame with official style image {index}.png (`rng` unused)."
    apply.__name__ = f"apply_style{index}"
    return apply


STYLES: dict[str, Corruption] = {
    f"style{i}": Corruption(
        name=f"style{i}",
        apply=_make_apply(i),
        params=STYLE_PARAMS,
        random=False,
        per_frame=True,
        same_as={4: 3},
        description=f"Magenta arbitrary stylisation with official style image {i}.png "
                    "(colours preserved at low/med, style colours at high)",
    )
    for i in range(1, 5)
}
