"""STCN inference as the official `InferenceCore` + `MemoryBank` (top-k 20, memory every 5 frames)."""

from __future__ import annotations

import torch

from ttt.models import memory
from ttt.models.stcn import STCN


def is_memory_frame(t: int, mem_every: int, n_frames: int | None = None, include_last: bool = False) -> bool:
    """Official schedule: frame t > 0 is written to memory if t % mem_every == 0 and t is not the last frame."""
    if n_frames is not None and t == n_frames - 1:
        return False
    return include_last or t % mem_every == 0


class STCNMemoryBank:
    """Keys [1, CK, N] shared by all objects, values [K, CV, N]; an optional temporary last entry."""

    def __init__(self, top_k: int | None):
        self.top_k = top_k
        self.key: torch.Tensor | None = None
        self.value: torch.Tensor | None = None
        self.temp: tuple[torch.Tensor, torch.Tensor] | None = None

    def add(self, key: torch.Tensor, value: torch.Tensor, is_temp: bool = False) -> None:
        """Add one frame: key [1, CK, h, w], value [K, CV, h, w]; every add flushes the temporary slot."""
        key, value = memory.flat(key), memory.flat(value)
        self.temp = None
        if self.key is None:
            self.key, self.value = key, value
        elif is_temp:
            self.temp = (key, value)
        else:
            self.key = torch.cat([self.key, key], 2)
            self.value = torch.cat([self.value, value], 2)

    @property
    def size(self) -> int:
        """Number of memory positions N (including the temporary entry)."""
        n = 0 if self.key is None else self.key.shape[2]
        return n + (0 if self.temp is None else self.temp[0].shape[2])

    def read(self, query_key: torch.Tensor) -> torch.Tensor:
        """Readout [K, CV, h, w] for query key [1, CK, h, w] (one affinity for all objects)."""
        mk, mv = self.key, self.value
        if self.temp is not None:
            mk, mv = torch.cat([mk, self.temp[0]], 2), torch.cat([mv, self.temp[1]], 2)
        return STCN.read_memory(mk, mv, query_key, self.top_k)


class STCNEngine:
    """Propagates the first-frame masks through a video, frame by frame."""

    def __init__(self, net: STCN, top_k: int | None = 20, mem_every: int = 5, include_last: bool = False,
                 **_ignored):
        self.net = net
        self.mem_every = mem_every
        self.include_last = include_last
        self.bank = STCNMemoryBank(top_k)
        self.t = -1

    @torch.no_grad()
    def start(self, frame: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Frame 0: prob = aggregate(GT); its value (from the aggregated GT) is the first memory entry."""
        _, prob = memory.aggregate(masks, dim=0)
        k16, _, f16, _, _ = self.net.encode_key(frame)
        self.bank.add(k16, self.net.encode_value_multi(frame, f16, prob[1:].to(frame.dtype)))
        self.t = 0
        return prob[:, 0]

    @torch.no_grad()
    def step(self, frame: torch.Tensor, is_last: bool = False) -> torch.Tensor:
        """Segment the next frame; add it to memory on the schedule (never the last frame)."""
        self.t += 1
        k16, f16_thin, f16, f8, f4 = self.net.encode_key(frame)
        readout = self.bank.read(k16)
        _, prob = self.net.segment(readout, f16_thin, f8, f4)
        if not is_last:
            is_mem = self.t % self.mem_every == 0
            if self.include_last or is_mem:
                value = self.net.encode_value_multi(frame, f16, prob[1:])
                self.bank.add(k16, value, is_temp=not is_mem)
        return prob[:, 0]
