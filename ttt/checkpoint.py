"""Reading checkpoints safely and loading them strictly, with the official checkpoint quirks.

* `torch.load(weights_only=True)` only; a checkpoint is a plain `{name: tensor}` state dict.
* A 4-channel `value_encoder.conv1.weight` (stage-0 / single-object models) gets a zero 5th
  input channel (the "other objects" mask), as the official evaluation code does.
* XMem's key/value/hidden dims are read from the weights; no hidden-updater key = no-sensory model.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from davis_c.errors import UserError
from davis_c.hashing import sha256_file  # noqa: F401  (re-exported)
from ttt.models.config import NetConfig

CONV1 = "value_encoder.conv1.weight"


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a state dict on CPU with `weights_only=True`; one-line UserError for anything else."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file can fail anywhere inside the unpickler
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: not a readable PyTorch checkpoint (truncated or wrong file?): {first}") from None
    if not isinstance(obj, dict) or not obj:
        raise UserError(f"{path}: not a state dict (got {type(obj).__name__})")
    bad = next((k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)), None)
    if bad is not None:
        raise UserError(f"{path}: not a plain state dict (entry {bad!r} is not a tensor)")
    return obj


def pad_value_conv1(sd: dict[str, torch.Tensor], in_channels: int = 5) -> dict[str, torch.Tensor]:
    """Append zero input channels to a 4-channel value-encoder conv1 (stage-0 checkpoints)."""
    w = sd.get(CONV1)
    if w is None or w.dim() != 4 or w.shape[1] >= in_channels:
        return sd
    pad = torch.zeros(w.shape[0], in_channels - w.shape[1], *w.shape[2:], dtype=w.dtype)
    return {**sd, CONV1: torch.cat([w, pad], 1)}


def _dim(sd: dict[str, torch.Tensor], key: str, path: str, div: int = 1) -> int:
    if key not in sd:
        raise UserError(f"{path}: missing key '{key}' (not an XMem checkpoint?)")
    return int(sd[key].shape[0]) // div


def xmem_config_from_state(sd: dict[str, torch.Tensor], base: NetConfig, path: str = "checkpoint") -> NetConfig:
    """`base` with key_dim, value_dim and hidden_dim read from the weights (0 when no hidden updater)."""
    key_dim = _dim(sd, "key_proj.key_proj.weight", path)
    value_dim = _dim(sd, "value_encoder.fuser.block2.conv2.weight", path)
    hk = "decoder.hidden_update.transform.weight"
    hidden = int(sd[hk].shape[0]) // 3 if hk in sd else 0
    return base.with_(key_dim=key_dim, value_dim=value_dim, hidden_dim=hidden)


def check_compatible(net: nn.Module, sd: dict[str, torch.Tensor], source: str) -> None:
    """Raise a UserError naming the first missing, unexpected or mis-shaped key."""
    own = net.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    if missing:
        raise UserError(f"{source}: missing key '{missing[0]}' ({len(missing)} missing in all)")
    if unexpected:
        raise UserError(f"{source}: unexpected key '{unexpected[0]}' ({len(unexpected)} unexpected in all)")
    for k, v in own.items():
        if tuple(sd[k].shape) != tuple(v.shape):
            raise UserError(f"{source}: key '{k}' has shape {tuple(sd[k].shape)}, "
                            f"the network expects {tuple(v.shape)}")


def load_strict(net: nn.Module, sd: dict[str, torch.Tensor], source: str = "checkpoint") -> nn.Module:
    """Apply the stage-0 conv1 padding, check keys/shapes, `load_state_dict(strict=True)`."""
    cfg: NetConfig | None = getattr(net, "cfg", None)
    if cfg is not None and not cfg.single_object:
        sd = pad_value_conv1(sd, 5)
    check_compatible(net, sd, source)
    net.load_state_dict(sd, strict=True)
    return net
