"""XMem inference as the official `InferenceCore.step` (sensory state, working + long-term memory)."""

from __future__ import annotations

import torch

from ttt.engines.xmem_memory import XMemMemory
from ttt.models import memory
from ttt.models.xmem import XMem


def count_long_term_usage(n_frames: int, max_mid: int = 10, min_mid: int = 5, num_prototypes: int = 128,
                          max_long: int = 10000, enable_long_term: bool = True) -> bool:
    """Official per-video switch: count long-term usage only if the video could fill long-term memory."""
    return enable_long_term and n_frames / (max_mid - min_mid) * num_prototypes >= max_long


class XMemEngine:
    """Propagates the first-frame masks; memory frames every `mem_every`, deep update on memory frames."""

    def __init__(self, net: XMem, top_k: int = 30, mem_every: int = 5, deep_update_every: int = -1,
                 enable_long_term: bool = True, max_mid_term_frames: int = 10, min_mid_term_frames: int = 5,
                 num_prototypes: int = 128, max_long_term_elements: int = 10000, n_frames: int | None = None,
                 **_ignored):
        self.net = net
        self.mem_every = mem_every
        self.deep_update_every = deep_update_every
        self.deep_sync = deep_update_every < 0
        self.enable_long_term = enable_long_term
        count = count_long_term_usage(n_frames or 0, max_mid_term_frames, min_mid_term_frames, num_prototypes,
                                      max_long_term_elements, enable_long_term)
        self.memory = XMemMemory(top_k, enable_long_term, count, max_mid_term_frames, min_mid_term_frames,
                                 num_prototypes, max_long_term_elements)
        self.hidden: torch.Tensor | None = None
        self.t = -1
        self.last_mem_t = 0
        self.last_deep_t = -deep_update_every

    def _flags(self, has_mask: bool, is_last: bool) -> tuple[bool, bool, bool]:
        is_mem = (self.t - self.last_mem_t >= self.mem_every or has_mask) and not is_last
        if self.deep_sync:
            deep = is_mem
        else:
            deep = self.t - self.last_deep_t >= self.deep_update_every and not is_last
        normal = (not self.deep_sync or not deep) and not is_last
        return is_mem, deep, normal

    def _memorise(self, frame, key, shrinkage, selection, f16, prob_fg, deep: bool) -> None:
        value, hidden = self.net.encode_value(frame, f16, self.hidden, prob_fg.unsqueeze(0), is_deep_update=deep)
        self.memory.add(key, shrinkage, value[0], selection if self.enable_long_term else None)
        self.last_mem_t = self.t
        if deep:
            self.hidden = hidden
            self.last_deep_t = self.t

    @torch.no_grad()
    def start(self, frame: torch.Tensor, masks: torch.Tensor, is_last: bool = False) -> torch.Tensor:
        """Frame 0 with its masks [K, 1, H, W]: no segmentation; prob = aggregate(masks); memorise."""
        self.t += 1
        is_mem, deep, _ = self._flags(True, is_last)
        key, shrinkage, selection, f16, _, _ = self.net.encode_key(frame, need_sk=is_mem,
                                                                   need_ek=self.enable_long_term)
        _, prob = memory.aggregate(masks[:, 0], dim=0)
        k, (h, w) = masks.shape[0], key.shape[-2:]
        self.hidden = torch.zeros(1, k, self.net.hidden_dim, h, w, device=key.device)
        if is_mem:
            self._memorise(frame, key, shrinkage, selection, f16, prob[1:].to(frame.dtype), deep)
        return prob

    @torch.no_grad()
    def step(self, frame: torch.Tensor, is_last: bool = False) -> torch.Tensor:
        """Segment the next frame, update the sensory state, memorise on the schedule."""
        self.t += 1
        is_mem, deep, normal = self._flags(False, is_last)
        key, shrinkage, selection, f16, f8, f4 = self.net.encode_key(frame, need_sk=is_mem, need_ek=True)
        readout = self.memory.match(key, selection).unsqueeze(0)
        hidden, _, prob = self.net.segment((f16, f8, f4), readout, self.hidden, h_out=normal, strip_bg=False)
        prob = prob[0]
        if normal:
            self.hidden = hidden
        if is_mem:
            self._memorise(frame, key, shrinkage, selection, f16, prob[1:], deep)
        return prob
