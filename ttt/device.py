"""Device choice and mixed precision."""

from __future__ import annotations

import contextlib
import warnings

import torch

from davis_c.errors import UserError


def pick_device(requested: str | None = None) -> torch.device:
    """`requested` ('cpu', 'cuda', 'cuda:1', ...) or CUDA when available, else CPU."""
    if requested:
        try:
            dev = torch.device(requested)
        except RuntimeError as exc:
            raise UserError(f"--device {requested!r}: {exc}") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise UserError(f"--device {requested}: CUDA is not available on this machine")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def amp_dtype(device: torch.device) -> torch.dtype:
    """bf16 where the GPU supports it, else fp16."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def needs_grad_scaling(device: torch.device, amp: bool) -> bool:
    """Loss scaling is only needed for fp16 autocast (bf16 has fp32's exponent range; CPU runs fp32)."""
    return amp and device.type == "cuda" and amp_dtype(device) == torch.float16


def autocast(device: torch.device, enabled: bool, dtype: torch.dtype | None = None):
    """Autocast context on CUDA; on CPU `enabled=True` warns once and runs in fp32 (a no-op).

    CPU bf16 autocast exists but is slower than fp32 on most CPUs and changes results, so it is
    not used.
    """
    if not enabled:
        return contextlib.nullcontext()
    if device.type != "cuda":
        warnings.warn("--amp has no effect on CPU; running in float32", stacklevel=2)
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=dtype or amp_dtype(device))
