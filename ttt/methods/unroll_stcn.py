"""STCN training unrolls for TTT (TTT-SPEC §3.4-§3.5, `TTT:STCN/ttt/model/model_ttt.py:STCN_TTT`).

* keys/features of all T frames are encoded once; the backward pass reuses them flipped in time;
* the memory starts with frame 0's key and its value encoded from the frame-0 masks;
* every middle frame is segmented with a **full softmax** (no top-k) and its value, encoded from the
  soft predicted masks (nothing detached), is appended;
* a single-object video gets a dummy second object with selector 0 (official padding; option
  ``pad_single``).

`unroll(model, batch, method, cfg, gen)` returns the method's loss.
"""

from __future__ import annotations

import torch

from ttt.methods.recompute import call, per_frame
from ttt.models import memory


def _encode_all(model, rgb: torch.Tensor, ck: bool = False) -> dict[str, torch.Tensor]:
    """encode_key on all B*T frames at once (`ck`: one checkpointed frame at a time) -> [B, T, C, h, w] tensors."""
    b, t = rgb.shape[:2]
    k16, f16_thin, f16, f8, f4 = per_frame(ck, model.encode_key, rgb.flatten(0, 1), 0, (0,) * 5)
    feats = {"k16": k16, "f16_thin": f16_thin, "f16": f16, "f8": f8, "f4": f4}
    out = {k: v.view(b, t, *v.shape[1:]) for k, v in feats.items()}
    out["rgb"] = rgb
    return out


def _flip(feats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.flip(1) for k, v in feats.items()}


def _per_object(x: torch.Tensor, k: int) -> torch.Tensor:
    """[B, ...] -> [B*K, ...]; for B=1 the model broadcasts, so keep it as is (no copy)."""
    return x if x.shape[0] == 1 else x.repeat_interleave(k, 0)


def _value(model, feats: dict, t: int, masks: torch.Tensor, ck: bool = False) -> torch.Tensor:
    """Values [B*K, CV, h, w] of frame t from masks [B, K, H, W] (others = sum of the other masks)."""
    b, k = masks.shape[:2]
    others = memory.others_sum(masks, 1)
    frame = _per_object(feats["rgb"][:, t], k)
    f16 = _per_object(feats["f16"][:, t], k)
    return call(ck, model.encode_value, frame, f16, masks.reshape(b * k, 1, *masks.shape[-2:]),
                others.reshape(b * k, 1, *masks.shape[-2:]))


def _read(model, keys: list[torch.Tensor], values: list[torch.Tensor], query: torch.Tensor,
          k: int, ck: bool = False) -> torch.Tensor:
    """Full-softmax readout [B*K, CV, h, w]: one affinity per batch element shared by its objects."""
    mk = torch.stack(keys, 2)
    mv = torch.stack(values, 2)
    outs = [call(ck, model.read_memory, mk[i:i + 1], mv[i * k:(i + 1) * k], query[i:i + 1], top_k=None)
            for i in range(query.shape[0])]
    return torch.cat(outs, 0)


def propagate(model, feats: dict, first_masks: torch.Tensor, selector: torch.Tensor, ck: bool = False
              ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Segment frames 1..T-1 from frame 0's masks: (logits with bg [B,K+1,H,W], probs without bg [B,K,H,W]).

    `ck`: checkpoint every network call (`ttt.methods.recompute`).
    """
    k = first_masks.shape[1]
    keys = [feats["k16"][:, 0]]
    values = [_value(model, feats, 0, first_masks, ck)]
    n = feats["k16"].shape[1]
    logits_out, probs_out = [], []
    for t in range(1, n):
        ro = _read(model, keys, values, feats["k16"][:, t], k, ck)
        logits, prob = call(ck, model.segment, ro, _per_object(feats["f16_thin"][:, t], k),
                            _per_object(feats["f8"][:, t], k), _per_object(feats["f4"][:, t], k),
                            num_objects=k, selector=selector)
        masks = prob[:, 1:]
        logits_out.append(logits)
        probs_out.append(masks)
        if t < n - 1:
            keys.append(feats["k16"][:, t])
            values.append(_value(model, feats, t, masks, ck))
    return logits_out, probs_out


def pad_objects(first: torch.Tensor, pad_single: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Frame-0 masks [B,K,H,W] -> (masks, selector [B,K',1,1]); K=1 gets a zero dummy with selector 0."""
    b, k = first.shape[:2]
    selector = torch.ones(b, k, 1, 1, device=first.device, dtype=first.dtype)
    if k == 1 and pad_single:
        first = torch.cat([first, torch.zeros_like(first)], 1)
        selector = torch.cat([selector, torch.zeros_like(selector)], 1)
    return first, selector


def cycle_logits(model, batch, cfg, backward: bool) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """Forward logits of frames 1..T-1 and, with `backward`, the backward-cycle logits of frame 0."""
    first, selector = pad_objects(batch.first_onehot, cfg.extra.get("pad_single", True))
    ck = cfg.checkpoint
    feats = _encode_all(model, batch.rgb, ck)
    logits_f, masks_f = propagate(model, feats, first, selector, ck)
    if not backward:
        return logits_f, None
    logits_b, _ = propagate(model, _flip(feats), masks_f[-1], selector, ck)
    return logits_f, logits_b[-1]


def single_logits(model, batch, cfg) -> torch.Tensor:
    """tt-AE: frame 0's value (from its masks) decoded directly, no memory readout -> [B,K+1,H,W]."""
    first, selector = pad_objects(batch.first_onehot, cfg.extra.get("pad_single", True))
    ck = cfg.checkpoint
    feats = _encode_all(model, batch.rgb[:, :1], ck)
    k = first.shape[1]
    value = _value(model, feats, 0, first, ck)
    logits, _ = call(ck, model.segment, value, _per_object(feats["f16_thin"][:, 0], k),
                     _per_object(feats["f8"][:, 0], k), _per_object(feats["f4"][:, 0], k),
                     num_objects=k, selector=selector)
    return logits


def unroll(model, batch, method, cfg, gen: torch.Generator | None = None) -> torch.Tensor:
    """The loss of `method` on one STCN training batch."""
    if method.unroll == "cycle":
        _, logits0 = cycle_logits(model, batch, cfg, backward=True)
        return method.loss(logits0, batch.labels0)
    if method.unroll == "forward":
        logits_f, _ = cycle_logits(model, batch, cfg, backward=False)
        return method.loss(torch.cat(logits_f, 0))
    if method.unroll == "single":
        return method.loss(single_logits(model, batch, cfg), batch.labels0)
    raise ValueError(f"method '{method.name}' has no training unroll")
