"""TTT method registry: `METHODS[name]` for ``none, mcc, ent, ae``.

A method declares what trains, which forward pass it needs, its loss and its official schedule; the
per-video loop (`ttt.tta`) owns reset, sampling, optimiser and pseudo-label refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from ttt.methods.losses import autoencoder_loss, cycle_ce_loss, entropy_loss
from ttt.methods.params import all_parameters, bn_affine_parameters, no_parameters


@dataclass(frozen=True)
class Method:
    """A test-time training method.

    `unroll`: "none" (no training), "cycle" (forward + backward, tt-MCC), "forward" (tt-Ent) or
    "single" (frame-0 auto-encoding, tt-AE). `seq_len` maps architecture -> frames per sample.
    """

    name: str
    unroll: str
    jump_steps: int
    iters_per_step: int
    seq_len: dict[str, int] = field(default_factory=dict)
    check_last: bool = False
    refresh: bool = False
    trainable: Callable[[nn.Module], list[nn.Parameter]] = no_parameters
    loss: Callable | None = None
    description: str = ""

    @property
    def iterations(self) -> int:
        """Official total number of iterations."""
        return self.jump_steps * self.iters_per_step


METHODS: dict[str, Method] = {
    "none": Method("none", "none", 0, 0, {"stcn": 1, "xmem": 1}, description="plain inference"),
    "mcc": Method("mcc", "cycle", 10, 10, {"stcn": 3, "xmem": 8}, check_last=True, refresh=True,
                  trainable=all_parameters, loss=cycle_ce_loss,
                  description="mask cycle consistency: CE of the backward-cycle frame-0 prediction"),
    "ent": Method("ent", "forward", 10, 10, {"stcn": 3, "xmem": 8}, trainable=bn_affine_parameters,
                  loss=entropy_loss, description="entropy of the forward predictions, BN affine only"),
    "ae": Method("ae", "single", 1, 20, {"stcn": 1, "xmem": 1}, trainable=all_parameters,
                 loss=autoencoder_loss, description="single-frame auto-encoding CE of frame 0"),
}


def get_method(name: str) -> Method:
    """The method called `name`; ValueError listing the choices otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown TTT method '{name}' (choose from {', '.join(METHODS)})") from None
