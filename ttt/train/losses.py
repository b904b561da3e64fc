"""Training losses of STCN/XMem (official `model/losses.py`, re-implemented).

* Bootstrapped cross-entropy: plain CE for the first `start_warm` iterations, then the mean over the
  top-p% hardest pixels, p annealed linearly from 100% to `top_p` (15%) until `end_warm`.
* Per-sample CE over the object channels the sample has (`logits[:, :K_b + 1]`), averaged over the batch.
* XMem adds a Dice loss on the soft masks of each object slot.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bootstrap_fraction(iteration: int, start_warm: int, end_warm: int, top_p: float = 0.15) -> float:
    """The fraction of pixels kept at `iteration` (1.0 before `start_warm`)."""
    if iteration < start_warm:
        return 1.0
    if iteration > end_warm:
        return top_p
    return top_p + (1 - top_p) * ((end_warm - iteration) / max(1, end_warm - start_warm))


def bootstrapped_ce(logits: torch.Tensor, target: torch.Tensor, iteration: int, start_warm: int,
                    end_warm: int, top_p: float = 0.15) -> tuple[torch.Tensor, float]:
    """(loss, fraction kept): CE of logits [B,C,H,W] vs class map [B,H,W] over the hardest pixels."""
    p = bootstrap_fraction(iteration, start_warm, end_warm, top_p)
    if p >= 1.0:
        return F.cross_entropy(logits, target), 1.0
    raw = F.cross_entropy(logits, target, reduction="none").flatten()
    kept, _ = torch.topk(raw, max(1, int(raw.numel() * p)), sorted=False)
    return kept.mean(), p


def dice_loss(masks: torch.Tensor, cls_gt: torch.Tensor) -> torch.Tensor:
    """XMem Dice: soft masks [B,K,H,W] vs class map [B,H,W]; 1 - (2|m.g|+1)/(|m|+|g|+1), mean over B*K."""
    k = masks.shape[1]
    gt = torch.stack([(cls_gt == i + 1) for i in range(k)], 1).to(masks.dtype)
    m, g = masks.flatten(2), gt.flatten(2)
    num = 2 * (m * g).sum(-1)
    den = m.sum(-1) + g.sum(-1)
    return (1 - (num + 1) / (den + 1)).mean()


def clip_loss(logits: list[torch.Tensor], masks: list[torch.Tensor] | None, cls_gt: torch.Tensor,
              num_objects: list[int], iteration: int, start_warm: int, end_warm: int,
              dice: bool) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum over frames 1..T-1 of the batch-mean bootstrapped CE (+ Dice when `dice`) -> (loss, stats)."""
    b = cls_gt.shape[0]
    total = logits[0].new_zeros(())
    stats = {"ce": 0.0, "dice": 0.0, "p": 0.0}
    for t, lg in enumerate(logits, 1):
        for j in range(b):
            ce, p = bootstrapped_ce(lg[j:j + 1, :num_objects[j] + 1], cls_gt[j:j + 1, t], iteration,
                                    start_warm, end_warm)
            total = total + ce / b
            stats["ce"] += ce.item() / b
            stats["p"] = p
        if dice and masks is not None:
            d = dice_loss(masks[t - 1], cls_gt[:, t])
            total = total + d
            stats["dice"] += d.item()
    return total, stats
