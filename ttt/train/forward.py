"""One training forward pass per architecture: the same networks and unrolls as TTT (full softmax).

STCN: the first frame's masks are encoded, frames 1..T-1 are segmented in turn from all earlier frames,
each predicted (soft, not detached) mask is encoded and appended (`ttt.methods.unroll_stcn.propagate`).
XMem: the same with the hidden state, memory of frame 0 + `num_ref_frames - 1` random earlier frames
and deep update with probability `deep_update_prob` (`ttt.methods.unroll_xmem.propagate`).
"""

from __future__ import annotations

from types import SimpleNamespace

import torch

from ttt.methods import unroll_stcn, unroll_xmem
from ttt.train.data import Batch
from ttt.train.recipes import TrainConfig


def stcn_forward(model, batch: Batch, cfg: TrainConfig, gen: torch.Generator):
    """-> (logits with bg per frame 1..T-1 [B,K+1,H,W], soft masks per frame [B,K,H,W])."""
    feats = unroll_stcn._encode_all(model, batch.rgb)
    return unroll_stcn.propagate(model, feats, batch.first_onehot, batch.selector)


def xmem_forward(model, batch: Batch, cfg: TrainConfig, gen: torch.Generator):
    """-> (logits with bg per frame 1..T-1, soft masks per frame); hidden state starts at zeros."""
    feats = unroll_xmem._encode_all(model, batch.rgb)
    k = batch.first_onehot.shape[1]
    opts = SimpleNamespace(num_ref_frames=cfg.num_ref_frames, deep_update_prob=cfg.deep_update_prob)
    logits, masks, _ = unroll_xmem.propagate(model, feats, batch.first_onehot, batch.selector,
                                             unroll_xmem._zero_hidden(model, feats, k), opts, gen)
    return logits, masks


FORWARDS = {"stcn": stcn_forward, "xmem": xmem_forward}
