"""Paper-faithful stylisation backend: TF-Hub `magenta/arbitrary-image-stylization-v1-256/2`.

As the official script: content at full resolution (RGB float32 in 0..1), the style image not resized,
`module(content, style)` -> the first output, squeezed. Needs the `[tf]` extra (tensorflow-cpu,
tensorflow-hub, tf-keras). The model comes from the hub URL (needs internet) or from a local SavedModel
directory (`--style-model DIR`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from davis_c.errors import UserError

HUB_URL = "https://tfhub.dev/google/magenta/arbitrary-image-stylization-v1-256/2"


def _import_tf():
    try:
        import tensorflow as tf
        import tensorflow_hub as hub
    except ImportError as exc:
        raise UserError("the tfhub style backend needs TensorFlow: pip install -e '.[tf]' && pip install "
                        f"--no-deps tensorflow-hub==0.16.1 tf-keras==2.21.0 (import failed: {exc}); "
                        "or use --style-backend onnx") from exc
    return tf, hub


def _single_threaded(tf) -> None:
    """One intra/inter-op thread and deterministic ops, so outputs do not depend on the worker count.

    Only possible before TensorFlow's runtime starts; later calls leave the settings as they are.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.experimental.enable_op_determinism()
    except RuntimeError:
        pass


@lru_cache(maxsize=2)
def load_module(model: str):
    """`hub.load` of a URL or local SavedModel directory (cached per process); one-line errors."""
    _, hub = _import_tf()
    is_url = "://" in model
    if not is_url and not Path(model).is_dir():
        raise UserError(f"style model directory not found: {model} (expected a TF SavedModel folder)")
    try:
        return hub.load(model)
    except Exception as exc:  # noqa: BLE001 - TF raises many unrelated types for the same failure
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = (" — offline? download the model elsewhere and pass --style-model DIR "
                "(the unpacked SavedModel folder)" if is_url else "")
        raise UserError(f"cannot load TF-Hub style model {model}: {msg}{hint}") from exc


class TfHubBackend:
    """`prepare(style_rgb) -> style tensor` once per style, `stylize(content01, state) -> float32 frame`."""

    name = "tfhub"

    def __init__(self, model: str | None = None) -> None:
        self.model = str(model) if model else HUB_URL
        self.tf, _ = _import_tf()
        _single_threaded(self.tf)
        self.module = load_module(self.model)

    def prepare(self, style_rgb: np.ndarray):
        """Style image as the official script: RGB / 255 (float64) -> float32, batch of one, full size."""
        style = (style_rgb / 255.0).astype(np.float32)
        return self.tf.constant(style[None])

    def stylize(self, content: np.ndarray, state) -> np.ndarray:
        """Full-resolution stylisation of an HxWx3 float32 RGB frame in 0..1, trimmed to HxW."""
        h, w = content.shape[:2]
        outputs = self.module(self.tf.constant(content[None].astype(np.float32)), state)
        out = np.asarray(self.tf.squeeze(outputs[0]), dtype=np.float32)
        if out.ndim != 3 or out.shape[0] < h or out.shape[1] < w:
            raise UserError(f"style model {self.model} returned shape {out.shape} for a {h}x{w} frame")
        return out[:h, :w]
