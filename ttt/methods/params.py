"""Which parameters a TTT method trains: everything (tt-MCC, tt-AE) or BatchNorm affine only (tt-Ent)."""

from __future__ import annotations

from torch import nn


def all_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Make every parameter trainable (official `frozen: null`) and return them."""
    params = list(model.parameters())
    for p in params:
        p.requires_grad_(True)
    return params


def bn_affine_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Freeze everything, then re-enable weight and bias of every BatchNorm layer (official `net,ubn`).

    Running statistics are untouched: the model stays in eval mode throughout TTT.
    """
    for p in model.parameters():
        p.requires_grad_(False)
    out: list[nn.Parameter] = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            for p in (m.weight, m.bias):
                if p is not None:
                    p.requires_grad_(True)
                    out.append(p)
    return out


def no_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Freeze everything (plain inference)."""
    for p in model.parameters():
        p.requires_grad_(False)
    return []
