"""Frame and mask preprocessing shared by the engines and TTT: normalise, resize, pad to /16, unpad."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_tensor(frame: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """HxWx3 RGB uint8 -> [1, 3, H, W] float32 ImageNet-normalised (ToTensor + Normalize)."""
    if not frame.flags.writeable or not frame.flags.c_contiguous:
        frame = np.array(frame, copy=True, order="C")
    x = torch.from_numpy(frame).to(device).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(3, 1, 1)
    return ((x - mean) / std).unsqueeze(0)


def resized_hw(h: int, w: int, shorter: int | None) -> tuple[int, int]:
    """(h, w) with the shorter side scaled to `shorter` (torchvision `Resize(int)` rule); None = unchanged."""
    if shorter is None or min(h, w) == shorter:
        return h, w
    if h <= w:
        return shorter, int(shorter * w / h)
    return int(shorter * h / w), shorter


def resize_frame(x: torch.Tensor, shorter: int | None, mode: str = "bilinear",
                 antialias: bool = False) -> torch.Tensor:
    """Resize [N, C, H, W] so the shorter side is `shorter`.

    No antialiasing by default: the official code applied torchvision `Resize` to tensors with the
    torchvision of its time (< 0.17), where tensor resizing was not antialiased.
    """
    size = resized_hw(*x.shape[-2:], shorter)
    if tuple(size) == tuple(x.shape[-2:]):
        return x
    return F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=antialias)


def resize_mask(m: torch.Tensor, shorter: int | None) -> torch.Tensor:
    """Nearest-neighbour resize of [N, K, H, W] masks to the shorter side `shorter`."""
    size = resized_hw(*m.shape[-2:], shorter)
    if tuple(size) == tuple(m.shape[-2:]):
        return m
    return F.interpolate(m, size=size, mode="nearest")


def pad_divide_by(x: torch.Tensor, d: int = 16) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Zero-pad H and W up to multiples of `d`, split low = floor(diff/2), high = rest.

    Returns the padded tensor and (left, right, top, bottom) for `unpad`.
    """
    h, w = x.shape[-2:]
    dh, dw = (-h) % d, (-w) % d
    pad = (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2)
    return (F.pad(x, pad) if any(pad) else x), pad


def unpad(x: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    """Crop the padding added by `pad_divide_by`."""
    left, right, top, bottom = pad
    h, w = x.shape[-2:]
    return x[..., top:h - bottom, left:w - right]


def one_hot(labels: np.ndarray, ids: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """Label map HxW -> [K, H, W] float one-hot masks for the object `ids` (in that order)."""
    lab = torch.from_numpy(np.ascontiguousarray(labels)).to(device)
    ids_t = torch.tensor(ids, dtype=lab.dtype, device=device).view(-1, 1, 1)
    return (lab.unsqueeze(0) == ids_t).float()


def prepare_frame(frame: np.ndarray, device: torch.device | str, shorter: int | None,
                  mode: str = "bilinear") -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Normalise, resize the shorter side, pad to /16: -> ([1, 3, H', W'], pad)."""
    return pad_divide_by(resize_frame(to_tensor(frame, device), shorter, mode), 16)


def prepare_mask(labels: np.ndarray, ids: list[int], device: torch.device | str,
                 shorter: int | None) -> torch.Tensor:
    """One-hot, nearest-resized, zero-padded masks [K, 1, H', W'] for the object `ids`."""
    m = resize_mask(one_hot(labels, ids, device).unsqueeze(0), shorter)[0]
    return pad_divide_by(m.unsqueeze(1), 16)[0]
