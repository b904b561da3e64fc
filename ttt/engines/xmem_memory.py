"""XMem's working and long-term memory for one object group (all objects given in the first frame).

Follows the official `KeyValueMemoryStore` / `MemoryManager`: usage counting, consolidation of
working memory into 128 prototypes (potentiated with a full-softmax readout), pruning of the
least-used long-term entries.
"""

from __future__ import annotations

import torch

from ttt.models import memory


class KVStore:
    """Keys [1, CK, N], shrinkage [1, 1, N], selection [1, CK, N] (optional), values [K, CV, N]."""

    def __init__(self, count_usage: bool):
        self.count_usage = count_usage
        self.k = self.s = self.e = self.v = None
        self.use_count = self.life_count = None

    @property
    def size(self) -> int:
        return 0 if self.k is None else self.k.shape[-1]

    def engaged(self) -> bool:
        return self.k is not None

    def _cat(self, name: str, x: torch.Tensor | None) -> None:
        old = getattr(self, name)
        if x is not None:
            setattr(self, name, x if old is None else torch.cat([old, x], -1))

    def add(self, key, value, shrinkage, selection) -> None:
        n = key.shape[-1]
        self._cat("k", key)
        self._cat("s", shrinkage)
        self._cat("e", selection)
        self._cat("v", value)
        if self.count_usage:
            self._cat("use_count", torch.zeros(1, 1, n, device=key.device))
            self._cat("life_count", torch.full((1, 1, n), 1e-7, device=key.device))

    def update_usage(self, usage: torch.Tensor) -> None:
        if self.count_usage:
            self.use_count += usage.view_as(self.use_count)
            self.life_count += 1

    def usage(self) -> torch.Tensor:
        if not self.count_usage:
            raise RuntimeError("usage is not counted in this memory store")
        return self.use_count / self.life_count

    def _apply(self, fn) -> None:
        for name in ("k", "s", "e", "v", "use_count", "life_count"):
            x = getattr(self, name)
            if x is not None:
                setattr(self, name, fn(x))

    def sieve(self, start: int, end: int) -> None:
        """Drop positions [start:end] (end < 0 counts from the end)."""
        self._apply(lambda x: torch.cat([x[..., :start], x[..., end:]], -1))

    def sliced(self, start: int, end: int):
        """(key, shrinkage, selection, usage, value) of positions [start:end]."""
        def sl(x):
            return None if x is None else x[..., start:end]
        return sl(self.k), sl(self.s), sl(self.e), sl(self.usage()), sl(self.v)

    def remove_obsolete(self, max_size: int) -> None:
        """Keep only entries used more than the (size - max_size)-th least-used one."""
        usage = self.usage().flatten()
        values, _ = torch.topk(usage, k=self.size - max_size, largest=False, sorted=True)
        survived = usage > values[-1]
        self._apply(lambda x: x[..., survived])


class XMemMemory:
    """Working + long-term memory with the official consolidation rules."""

    def __init__(self, top_k: int = 30, enable_long_term: bool = True, count_long_term_usage: bool = False,
                 max_mid_term_frames: int = 10, min_mid_term_frames: int = 5, num_prototypes: int = 128,
                 max_long_term_elements: int = 10000):
        self.top_k = top_k
        self.enable_long_term = enable_long_term
        self.max_mt, self.min_mt = max_mid_term_frames, min_mid_term_frames
        self.num_prototypes = num_prototypes
        self.max_long = max_long_term_elements
        self.work = KVStore(count_usage=enable_long_term)
        self.long = KVStore(count_usage=count_long_term_usage)
        self.hw = None

    def match(self, query_key: torch.Tensor, selection: torch.Tensor | None) -> torch.Tensor:
        """Readout [K, CV, h, w] of query key [1, CK, h, w] from long-term + working memory (top-k)."""
        h, w = query_key.shape[-2:]
        qk, qe = memory.flat(query_key), None if selection is None else memory.flat(selection)
        long_n = self.long.size if self.enable_long_term and self.long.engaged() else 0
        if long_n:
            mk = torch.cat([self.long.k, self.work.k], -1)
            ms = torch.cat([self.long.s, self.work.s], -1)
            mv = torch.cat([self.long.v, self.work.v], -1)
        else:
            mk, ms, mv = self.work.k, self.work.s, self.work.v
        sim = memory.xmem_similarity(mk, ms, qk, qe)
        aff = memory.softmax_topk(sim, self.top_k)
        if self.enable_long_term:
            usage = aff.sum(dim=2)
            self.work.update_usage(usage[:, long_n:].flatten())
            if long_n:
                self.long.update_usage(usage[:, :long_n].flatten())
        out = mv @ aff.to(mv.dtype)
        return out.view(out.shape[0], out.shape[1], h, w)

    def add(self, key, shrinkage, value, selection=None) -> None:
        """Add a memory frame: key [1, CK, h, w], shrinkage [1, 1, h, w], value [K, CV, h, w]."""
        if self.hw is None:
            self.hw = key.shape[-2] * key.shape[-1]
        sel = memory.flat(selection) if (selection is not None and self.enable_long_term) else None
        self.work.add(memory.flat(key), memory.flat(value), memory.flat(shrinkage), sel)
        if self.enable_long_term and self.work.size >= self.max_mt * self.hw:
            if self.long.size >= self.max_long - self.num_prototypes:
                self.long.remove_obsolete(self.max_long - self.num_prototypes)
            self.compress()

    def compress(self) -> None:
        """Consolidate all working-memory frames but the first and the newest (min_mt - 1) ones."""
        start, end = self.hw, -self.min_mt * self.hw + self.hw
        ck, cs, ce, usage, cv = self.work.sliced(start, end)
        n_proto = min(self.num_prototypes, ck.shape[-1])
        _, idx = torch.topk(usage, k=n_proto, dim=-1, sorted=True)
        idx = idx.flatten()
        pk = ck[:, :, idx]
        pe = ce[:, :, idx] if ce is not None else None
        aff = memory.softmax_full(memory.xmem_similarity(ck, cs, pk, pe))
        pv = cv @ aff.to(cv.dtype)
        ps = cs @ aff.to(cs.dtype)
        self.work.sieve(start, end)
        self.long.add(pk, pv, ps, None)
