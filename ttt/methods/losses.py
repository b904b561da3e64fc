"""TTT losses on plain tensors (TTT-SPEC §3.6): no model, no data, just logits and labels."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cycle_ce_loss(backward_logits0: torch.Tensor, labels0: torch.Tensor) -> torch.Tensor:
    """tt-MCC: cross-entropy of the backward-cycle frame-0 logits [B,O+1,H,W] against labels [B,H,W].

    Mean over every (padded) pixel, background class included, as `nn.CrossEntropyLoss()` does.
    """
    return F.cross_entropy(backward_logits0, labels0.long())


def entropy_loss(logits: torch.Tensor) -> torch.Tensor:
    """tt-Ent: mean over pixels of ``-sum_c softmax * log_softmax`` over the class axis (dim 1)."""
    logp = F.log_softmax(logits, dim=1)
    return -(logp.exp() * logp).sum(dim=1).mean()


def autoencoder_loss(logits0: torch.Tensor, labels0: torch.Tensor) -> torch.Tensor:
    """tt-AE: cross-entropy of the single-frame auto-encoding logits [B,O+1,H,W] against labels [B,H,W]."""
    return F.cross_entropy(logits0, labels0.long())
