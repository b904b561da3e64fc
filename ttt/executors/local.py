"""Local executor: one worker process per GPU (one on CPU); in-process when a single worker is used."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from typing import Any

from tqdm import tqdm

from ttt.runner import RunContext, run_unit
from ttt.sweep import Unit


def default_local_workers() -> int:
    """One worker per visible CUDA device, else one (the network already uses every CPU core)."""
    import torch

    return max(1, torch.cuda.device_count()) if torch.cuda.is_available() else 1


def _init_worker(slot_queue) -> None:
    """Pin this worker to one GPU (CUDA_VISIBLE_DEVICES) taken from the queue of free slots."""
    slot = slot_queue.get()
    if slot is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(slot)


def run_local(units: Sequence[Unit], ctx: RunContext, workers: int | None = None,
              on_done: Callable[[dict[str, Any]], None] | None = None, **_ignored) -> list[dict[str, Any]]:
    """Run `units`; `on_done(result)` is called in this process after each unit (e.g. to merge the table)."""
    workers = workers or default_local_workers()
    results: list[dict[str, Any]] = []
    bar = tqdm(total=len(units), desc=f"ttt {ctx.model} {ctx.ttt.method}", unit="unit")
    if workers <= 1 or len(units) <= 1:
        for u in units:
            results.append(run_unit(u, ctx))
            bar.update(1)
            if on_done:
                on_done(results[-1])
        bar.close()
        return results
    import torch

    mpctx = mp.get_context("spawn")
    slots = mpctx.Queue()
    n_gpu = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for i in range(workers):
        slots.put(i % n_gpu if n_gpu else None)
    wctx = replace(ctx, device=None if n_gpu else ctx.device)
    with ProcessPoolExecutor(workers, mp_context=mpctx, initializer=_init_worker, initargs=(slots,)) as pool:
        futures = [pool.submit(run_unit, u, wctx) for u in units]
        for f in as_completed(futures):
            results.append(f.result())
            bar.update(1)
            if on_done:
                on_done(results[-1])
    bar.close()
    return results
