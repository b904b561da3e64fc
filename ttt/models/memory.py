"""Memory matching math of STCN and XMem: similarities, (top-k) softmax, readout, aggregation.

Shapes: memory keys [B, CK, N], query keys [B, CK, M] (N memory positions, M query positions);
affinities [B, N, M]; values [B, CV, N]. A key batch of 1 is shared by B value batches (objects).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def flat(x: torch.Tensor, start: int = 2) -> torch.Tensor:
    """Flatten all dims from `start` (e.g. [B, C, T, H, W] -> [B, C, T*H*W])."""
    return x.flatten(start_dim=start)


def l2_similarity(mk: torch.Tensor, qk: torch.Tensor) -> torch.Tensor:
    """STCN: (2 m^T q - |m|^2) / sqrt(CK); |q|^2 is omitted (constant per query)."""
    ck = mk.shape[1]
    a_sq = mk.pow(2).sum(1).unsqueeze(2)
    ab = mk.transpose(1, 2) @ qk
    return (2 * ab - a_sq) / math.sqrt(ck)


def xmem_similarity(mk: torch.Tensor, ms: torch.Tensor | None, qk: torch.Tensor,
                    qe: torch.Tensor | None) -> torch.Tensor:
    """XMem: -sum_c e_c (m_c - q_c)^2 (or 2 m^T q - |m|^2 without selection), times shrinkage, / sqrt(CK).

    `ms` is the memory shrinkage [B, 1, N] (None = 1), `qe` the query selection [B, CK, M].
    """
    ck = mk.shape[1]
    if qe is not None:
        mkt = mk.transpose(1, 2)
        a_sq = mkt.pow(2) @ qe
        two_ab = 2 * (mkt @ (qk * qe))
        b_sq = (qe * qk.pow(2)).sum(1, keepdim=True)
        sim = -a_sq + two_ab - b_sq
    else:
        sim = 2 * (mk.transpose(1, 2) @ qk) - mk.pow(2).sum(1).unsqueeze(2)
    if ms is not None:
        sim = sim * ms.transpose(1, 2)
    return sim / math.sqrt(ck)


def softmax_full(sim: torch.Tensor) -> torch.Tensor:
    """Max-subtracted softmax over the memory dimension (dim 1), as the training networks do."""
    return torch.softmax(sim, dim=1)


def softmax_topk(sim: torch.Tensor, top_k: int) -> torch.Tensor:
    """Keep the top-k memory entries per query, exp without max-subtraction, normalise, zero the rest.

    Equals the official inference `softmax_w_top` / `do_softmax(top_k=...)`. If fewer than `top_k`
    entries exist, all are kept. Where exp overflows or underflows (official: NaN; happens with the tiny models trained
    from scratch, whose key norms are large) the max-subtracted form, mathematically the same, is used.
    """
    k = min(top_k, sim.shape[1])
    values, indices = torch.topk(sim, k=k, dim=1)
    x_exp = values.exp()
    sums = x_exp.sum(dim=1, keepdim=True)
    if not (torch.isfinite(sums).all() and (sums > 0).all()):  # official: NaN; else keep its exact values
        x_exp = (values - values[:, :1]).exp()
        sums = x_exp.sum(dim=1, keepdim=True)
    x_exp = x_exp / sums
    return torch.zeros_like(sim).scatter_(1, indices, x_exp.to(sim.dtype))


def softmax(sim: torch.Tensor, top_k: int | None) -> torch.Tensor:
    """`softmax_full` when `top_k` is None, else `softmax_topk`."""
    return softmax_full(sim) if top_k is None else softmax_topk(sim, top_k)


def readout(affinity: torch.Tensor, mv: torch.Tensor) -> torch.Tensor:
    """Weighted sum of memory values: mv [Bv, CV, N] @ affinity [Ba, N, M] -> [Bv, CV, M].

    An affinity batch of 1 is shared by all value batches (one affinity for all objects); an affinity
    batch B with values [B*K, ...] is shared by the K objects of each item.
    """
    ba, bv = affinity.shape[0], mv.shape[0]
    if ba == 1 and bv != 1:
        affinity = affinity.expand(bv, -1, -1)
    elif ba != bv:  # keys per batch item, values per (item, object): [B*K] values
        affinity = affinity.repeat_interleave(bv // ba, 0)
    return torch.bmm(mv, affinity.to(mv.dtype))


def aggregate(prob: torch.Tensor, dim: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft aggregation: bg = prod(1-p); clamp; logits = log(p/(1-p)); softmax over K+1.

    Returns (logits with background, probabilities with background), background first along `dim`.
    """
    new_prob = torch.cat([torch.prod(1 - prob, dim=dim, keepdim=True), prob], dim).clamp(1e-7, 1 - 1e-7)
    logits = torch.log(new_prob / (1 - new_prob))
    return logits, F.softmax(logits, dim=dim)


def others_sum(masks: torch.Tensor, dim: int) -> torch.Tensor:
    """For each object, the sum of the other objects' masks along `dim` (zeros when there is one)."""
    k = masks.shape[dim]
    if k == 1:
        return torch.zeros_like(masks)
    idx = torch.tensor([[j for j in range(k) if j != i] for i in range(k)], device=masks.device)
    picked = masks.index_select(dim, idx.flatten())
    shape = list(masks.shape)
    shape[dim:dim + 1] = [k, k - 1]
    return picked.view(shape).sum(dim + 1)
