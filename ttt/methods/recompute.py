"""Activation checkpointing for the TTT unrolls (option ``checkpoint``, off by default as in the official code).

With it, autograd keeps only the inputs of each network call (key encoding of one frame, value encoding,
memory readout, decoding) and recomputes the call's internals during the backward pass: the same loss and
gradients (BN is frozen and no call draws random numbers) for about one more forward pass of compute, and a
training peak that no longer grows with every frame of the unroll (XMem octuplets at 480p: see
bench/results/ttt_memory.md). Key encoding then runs one frame at a time, which can change float rounding
against the batched call (conv algorithms depend on the batch size), not the computation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint


def call(enabled: bool, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)`, checkpointed when `enabled` and autograd is recording."""
    if enabled and torch.is_grad_enabled():
        return checkpoint(fn, *args, use_reentrant=False, **kwargs)
    return fn(*args, **kwargs)


def per_frame(enabled: bool, fn: Callable[..., tuple], frames: torch.Tensor, dim: int,
              out_dims: tuple[int, ...], *args: Any) -> tuple:
    """`fn(frames, *args)`; when `enabled`, one checkpointed call per frame (size-1 slices along `dim`).

    The outputs are joined along `out_dims[i]` (a None output stays None).
    """
    if not (enabled and torch.is_grad_enabled()):
        return fn(frames, *args)
    parts = [call(True, fn, frames.narrow(dim, t, 1), *args) for t in range(frames.shape[dim])]
    return tuple(None if parts[0][i] is None else torch.cat([p[i] for p in parts], d)
                 for i, d in enumerate(out_dims))
