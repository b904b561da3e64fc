"""XMem training unrolls for TTT (TTT-SPEC §4.2; the unroll is `XMem:model/trainer.py:XMemTrainer.do_pass`).

No official XMem TTT code exists; this follows the proposal of the spec:

* keys/features of all T (8) frames encoded once; hidden state zeros; frame 0's value from its masks with
  deep update;
* for t = 1..T-1: memory = all previous frames if t <= `num_ref_frames`, else frame 0 plus
  ``num_ref_frames - 1`` random distinct earlier frames; full-softmax readout; `segment` with
  ``h_out = t < T-1``; for t < T-1 the soft masks are encoded (deep update with probability
  `deep_update_prob`) and appended. Nothing is detached.
* tt-MCC backward: the same loop over the time-flipped features, starting from the last frame's soft
  masks, with the hidden state reset to zeros (option `reset_hidden`).

Random choices come from the per-video seeded `torch.Generator` (official XMem: global torch/numpy RNG).
"""

from __future__ import annotations

import torch

from ttt.methods.recompute import call, per_frame


def _encode_all(model, rgb: torch.Tensor, ck: bool = False) -> dict[str, torch.Tensor | None]:
    """encode_key on all frames at once (`ck`: one checkpointed frame at a time)."""
    key, shrinkage, selection, f16, f8, f4 = per_frame(ck, model.encode_key, rgb, 1, (2, 2, 2, 1, 1, 1))
    return {"rgb": rgb, "key": key, "shrinkage": shrinkage, "selection": selection,
            "f16": f16, "f8": f8, "f4": f4}


def _flip(feats: dict) -> dict:
    out = {}
    for k, v in feats.items():
        if v is None:
            out[k] = None
        else:
            out[k] = v.flip(2) if k in ("key", "shrinkage", "selection") else v.flip(1)
    return out


def _zero_hidden(model, feats: dict, k: int) -> torch.Tensor:
    key = feats["key"]
    return torch.zeros(key.shape[0], k, model.hidden_dim, *key.shape[-2:], device=key.device, dtype=key.dtype)


def _memory_indices(t: int, num_ref: int, gen: torch.Generator) -> list[int]:
    """Memory frames for frame t: all earlier ones, or frame 0 + (num_ref-1) random distinct earlier ones."""
    if t <= num_ref:
        return list(range(t))
    extra = (torch.randperm(t - 1, generator=gen)[:num_ref - 1] + 1).tolist()
    return [0] + extra


def _pick(x: torch.Tensor | None, idx: list[int], dim: int) -> torch.Tensor | None:
    if x is None:
        return None
    return x.index_select(dim, torch.tensor(idx, device=x.device))


def propagate(model, feats: dict, first_masks: torch.Tensor, selector: torch.Tensor, hidden: torch.Tensor,
              cfg, gen: torch.Generator, ck: bool = False) -> tuple[list, list, torch.Tensor]:
    """Frames 1..T-1 from frame 0's masks [B,K,H,W] -> (logits with bg, probs without bg, last hidden).

    `ck`: checkpoint every network call (`ttt.methods.recompute`).
    """
    n = feats["key"].shape[2]
    value, hidden = call(ck, model.encode_value, feats["rgb"][:, 0], feats["f16"][:, 0], hidden, first_masks, True)
    values = [value]
    logits_out, probs_out = [], []
    for t in range(1, n):
        idx = _memory_indices(t, cfg.num_ref_frames, gen)
        mv = torch.stack([values[i] for i in idx], 3)
        ro = call(ck, model.read_memory, feats["key"][:, :, t], _sel(feats, t), _pick(feats["key"], idx, 2),
                  _pick(feats["shrinkage"], idx, 2), mv, top_k=None)
        hidden, logits, masks = call(ck, model.segment, (feats["f16"][:, t], feats["f8"][:, t], feats["f4"][:, t]),
                                     ro, hidden, selector, h_out=t < n - 1)
        logits_out.append(logits)
        probs_out.append(masks)
        if t < n - 1:
            deep = bool(torch.rand((), generator=gen) < cfg.deep_update_prob)
            value, hidden = call(ck, model.encode_value, feats["rgb"][:, t], feats["f16"][:, t], hidden, masks, deep)
            values.append(value)
    return logits_out, probs_out, hidden


def _sel(feats: dict, t: int) -> torch.Tensor | None:
    s = feats["selection"]
    return None if s is None else s[:, :, t]


def cycle_logits(model, batch, cfg, gen: torch.Generator, backward: bool
                 ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """Forward logits of frames 1..T-1 and, with `backward`, the backward-cycle logits of frame 0."""
    first = batch.first_onehot
    k = first.shape[1]
    selector = torch.ones(first.shape[0], k, 1, 1, device=first.device, dtype=first.dtype)
    ck = cfg.checkpoint
    feats = _encode_all(model, batch.rgb, ck)
    logits_f, masks_f, hidden = propagate(model, feats, first, selector, _zero_hidden(model, feats, k), cfg, gen,
                                          ck)
    if not backward:
        return logits_f, None
    h0 = _zero_hidden(model, feats, k) if cfg.reset_hidden else hidden
    logits_b, _, _ = propagate(model, _flip(feats), masks_f[-1], selector, h0, cfg, gen, ck)
    return logits_f, logits_b[-1]


def single_logits(model, batch, cfg) -> torch.Tensor:
    """tt-AE (not in the paper): frame 0's value from its masks (h=0, deep update) decoded directly."""
    first = batch.first_onehot
    k = first.shape[1]
    selector = torch.ones(first.shape[0], k, 1, 1, device=first.device, dtype=first.dtype)
    ck = cfg.checkpoint
    feats = _encode_all(model, batch.rgb[:, :1], ck)
    value, hidden = call(ck, model.encode_value, feats["rgb"][:, 0], feats["f16"][:, 0],
                         _zero_hidden(model, feats, k), first, True)
    _, logits, _ = call(ck, model.segment, (feats["f16"][:, 0], feats["f8"][:, 0], feats["f4"][:, 0]), value,
                        hidden, selector, h_out=False)
    return logits


def unroll(model, batch, method, cfg, gen: torch.Generator) -> torch.Tensor:
    """The loss of `method` on one XMem training batch."""
    if method.unroll == "cycle":
        _, logits0 = cycle_logits(model, batch, cfg, gen, backward=True)
        return method.loss(logits0, batch.labels0)
    if method.unroll == "forward":
        logits_f, _ = cycle_logits(model, batch, cfg, gen, backward=False)
        return method.loss(torch.cat(logits_f, 0))
    if method.unroll == "single":
        return method.loss(single_logits(model, batch, cfg), batch.labels0)
    raise ValueError(f"method '{method.name}' has no training unroll")
