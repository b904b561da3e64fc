"""Sweep executors: `local` (processes on this machine) and `ray` (a Ray cluster). Plain-dict registry."""

from __future__ import annotations

from collections.abc import Callable

from ttt.executors.local import run_local


def _ray(*args, **kwargs):
    from ttt.executors.ray_executor import run_ray

    return run_ray(*args, **kwargs)


EXECUTORS: dict[str, Callable] = {"local": run_local, "ray": _ray}
