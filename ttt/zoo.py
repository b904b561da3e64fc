"""The model zoo: a plain dict of frozen specs, building networks and loading their checkpoints.

Checkpoints cache under `$TORCH_HOME/hub/checkpoints` (torch.hub's directory). Where a spec has no
sha256, the first download records the hash it saw in `<file>.sha256` and later loads verify it.
Checkpoint quirks (stage-0 conv1, XMem dims) are handled in `ttt.checkpoint`, not by name here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from davis_c.atomic import write_text_atomic
from davis_c.errors import UserError
from ttt import checkpoint
from ttt.models.config import FULL, TINY, NetConfig
from ttt.models.stcn import STCN
from ttt.models.xmem import XMem

STCN_RELEASE = "https://github.com/hkchengrex/STCN/releases/download/1.0/"
XMEM_RELEASE = "https://github.com/hkchengrex/XMem/releases/download/v1.0/"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

STCN_ENGINE = {"top_k": 20, "mem_every": 5, "include_last": False}
XMEM_ENGINE = {"top_k": 30, "mem_every": 5, "deep_update_every": -1, "enable_long_term": True,
               "max_mid_term_frames": 10, "min_mid_term_frames": 5, "num_prototypes": 128,
               "max_long_term_elements": 10000}


@dataclass(frozen=True)
class ModelSpec:
    """One zoo entry. `resize`: shorter side the engine resizes frames to (None = native size)."""

    name: str
    arch: str  # 'stcn' | 'xmem'
    config: NetConfig
    filename: str
    urls: tuple[str, ...]
    sha256: str | None
    training_data: str
    paper_name: str
    ttt_lr: float
    engine: dict[str, Any] = field(default_factory=dict)
    resize: int | None = 480
    resize_mode: str = "bilinear"
    embedded: bool = False
    notes: str = ""

    @property
    def top_k(self) -> int:
        return int(self.engine["top_k"])

    @property
    def mem_every(self) -> int:
        return int(self.engine["mem_every"])


def _stcn(name, filename, urls, training, paper, lr, notes=""):
    return ModelSpec(name, "stcn", FULL, filename, urls, None, training, paper, lr, dict(STCN_ENGINE),
                     480, "bicubic", notes=notes)


def _xmem(name, filename, training, paper, lr, notes=""):
    return ModelSpec(name, "xmem", FULL, filename, (XMEM_RELEASE + filename,), None, training, paper, lr,
                     dict(XMEM_ENGINE), 480, "bilinear", notes=notes)


TINY_TTT_LR = 3e-4
"""TTT learning rate of the embedded tiny models: they are trained from scratch at 1e-3 (the official 1e-5 / 1e-6
belong to fine-tuned ImageNet ResNets). Chosen on synthetic videos of another seed than the demo's
(docs/embedded-models.md: 1e-5 +0.6, 1e-4 +4.3, 3e-4 +7.2, 1e-3 +7.9, 3e-3 -5.8 J&F at high strength)."""


def _tiny(name, arch, engine, sha256=None, lr=TINY_TTT_LR):
    return ModelSpec(name, arch, TINY, f"{name}.pth", (), sha256, "embedded synthetic videos (make train-tiny)",
                     ("STCN" if arch == "stcn" else "XMem") + "-tiny (not in the paper)", lr, dict(engine), None,
                     "bilinear", embedded=True)


MODELS: dict[str, ModelSpec] = {s.name: s for s in [
    _stcn("stcn-dy", "stcn.pth", ("https://drive.google.com/uc?id=1mRrE0uCI2ktdWlUgapJI_KmgeIiF2eOm",),
          "static images + BL30K + DAVIS/YouTube-VOS (s012)", "STCN-DY", 1e-6,
          "Google Drive (gdown)"),
    _stcn("stcn-bl30k", "stcn_s01.pth", (STCN_RELEASE + "stcn_s01.pth",), "static images + BL30K (s01)",
          "STCN-BL30K", 1e-5, "release asset URL inferred from the 1.0 release page"),
    _stcn("stcn-s0", "stcn_s0.pth", (STCN_RELEASE + "stcn_s0.pth",), "static images (s0)",
          "STCN (static)", 1e-5, "4-channel value conv1, zero-padded on load"),
    _xmem("xmem-dy", "XMem-s012.pth", "static images + BL30K + DAVIS/YouTube-VOS (s012)", "XMem-DY", 1e-6),
    _xmem("xmem-bl30k", "XMem-s01.pth", "static images + BL30K (s01)", "XMem-BL30K", 1e-5,
          "URL used by third-party code, not listed in XMem's docs"),
    _xmem("xmem", "XMem.pth", "static images + DAVIS/YouTube-VOS (s03)", "XMem (s03; not in the paper)", 1e-6),
    _tiny("stcn-tiny-synth", "stcn", STCN_ENGINE,
          "61c70a20351d5abaf3faad99ff70c18f7e9111fdcd7a05f7e619d2ac9666b29a"),  # make train-tiny-stcn
    _tiny("xmem-tiny-synth", "xmem", XMEM_ENGINE,
          "dc862155cb3ffe1b37959c0ed8ac470b7d3eed10cf2a53c944d56ec3853372f0"),  # make train-tiny-xmem
]}

ARCHS: dict[str, type[nn.Module]] = {"stcn": STCN, "xmem": XMem}


@dataclass
class LoadedModel:
    """A network with its weights loaded (eval mode), the spec, and the checkpoint's identity."""

    net: nn.Module
    spec: ModelSpec
    sha256: str | None
    path: Path | None


def get_spec(name: str) -> ModelSpec:
    """The spec called `name`; UserError listing the zoo otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise UserError(f"unknown model '{name}'; choose one of: {', '.join(MODELS)}") from None


def build_network(spec: ModelSpec | str, config: NetConfig | None = None) -> nn.Module:
    """The spec's network with random weights (no pretrained download); `config` overrides the spec's."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    return ARCHS[spec.arch](config or spec.config)


def cache_dir() -> Path:
    """`$TORCH_HOME/hub/checkpoints` (torch.hub's checkpoint cache)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def default_path(spec: ModelSpec) -> Path:
    """Where the spec's checkpoint lives: the package for embedded models, else the cache."""
    return (WEIGHTS_DIR if spec.embedded else cache_dir()) / spec.filename


def recorded_sha256(path: Path) -> str | None:
    """The hash recorded beside a downloaded checkpoint (`<file>.sha256`), if any."""
    side = path.with_name(path.name + ".sha256")
    return side.read_text().split()[0].strip() if side.is_file() else None


def record_sha256(path: Path, digest: str) -> None:
    write_text_atomic(path.with_name(path.name + ".sha256"), f"{digest}  {path.name}\n")


def expected_sha256(spec: ModelSpec, path: Path) -> str | None:
    return spec.sha256 or recorded_sha256(path)


def missing_message(spec: ModelSpec, path: Path) -> str:
    if spec.embedded:
        return f"{path}: embedded model '{spec.name}' has not been trained yet; run `make train-tiny`"
    return (f"{path}: checkpoint for '{spec.name}' is not cached; run `python -m ttt download {spec.name}` "
            f"or pass --weights PATH")


def resolve_weights(spec: ModelSpec, weights: str | os.PathLike | None) -> tuple[Path, str]:
    """The checkpoint path and its sha256 (verified against the spec or the recorded hash)."""
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise UserError(f"{path}: --weights file not found")
        return path, checkpoint.sha256_file(path)
    path = default_path(spec)
    if not path.is_file():
        raise UserError(missing_message(spec, path))
    digest = checkpoint.sha256_file(path)
    want = expected_sha256(spec, path)
    if want and digest != want:
        raise UserError(f"{path}: sha256 {digest} does not match the expected {want} "
                        f"(corrupt download? delete it and run `python -m ttt download {spec.name}`)")
    return path, digest


def network_from_state(spec: ModelSpec, sd: dict[str, torch.Tensor], source: str) -> nn.Module:
    """Build the spec's network (XMem dims read from the weights) and load `sd` strictly."""
    cfg = spec.config
    if spec.arch == "xmem":
        cfg = checkpoint.xmem_config_from_state(sd, cfg, source)
    return checkpoint.load_strict(build_network(spec, cfg), sd, source)


def load_model(name: str | ModelSpec, weights: str | os.PathLike | None = None,
               device: torch.device | str | None = None) -> LoadedModel:
    """Build the model `name`, load its checkpoint (cache, package or `weights`), eval mode, on `device`."""
    spec = get_spec(name) if isinstance(name, str) else name
    path, digest = resolve_weights(spec, weights)
    net = network_from_state(spec, checkpoint.read_state_dict(path), str(path))
    net.eval()
    if device is not None:
        net.to(device)
    return LoadedModel(net, spec, digest, path)
