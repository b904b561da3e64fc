"""Ray executor: the same units as Ray tasks, one GPU each (the `[distributed]` extra).

Workers write their outputs to the run directory themselves, so the run directory must be on storage
every node sees (NFS, a shared volume); the driver merges the results table as tasks finish.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from davis_c.errors import UserError
from ttt.runner import RunContext, run_unit
from ttt.sweep import Unit


def _import_ray():
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs ray: pip install -e '.[distributed]'") from None
    return ray


def run_ray(units: Sequence[Unit], ctx: RunContext, workers: int | None = None, address: str | None = None,
            on_done: Callable[[dict[str, Any]], None] | None = None, gpus_per_unit: float | None = None,
            **_ignored) -> list[dict[str, Any]]:
    """Submit every unit as a Ray task (`address`: an existing cluster, None: a local one)."""
    from tqdm import tqdm

    ray = _import_ray()
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "ignore_reinit_error": True,
                                  "log_to_driver": False}
        if address:
            kwargs["address"] = address
        elif workers:
            kwargs["num_cpus"] = workers
        ray.init(**kwargs)
        started = True
    try:
        n_gpu = ray.cluster_resources().get("GPU", 0)
        gpus = gpus_per_unit if gpus_per_unit is not None else (1 if n_gpu else 0)
        task = ray.remote(num_gpus=gpus, num_cpus=1, max_retries=0)(run_unit)
        pending = [task.remote(u, ctx) for u in units]
        results: list[dict[str, Any]] = []
        with tqdm(total=len(pending), desc=f"ray {ctx.model} {ctx.ttt.method}", unit="unit") as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    results.append(ray.get(ref))
                    bar.update(1)
                    if on_done:
                        on_done(results[-1])
        return results
    finally:
        if started:
            ray.shutdown()
