"""The Ray executor runs the same units on a local Ray cluster (bound to 127.0.0.1)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from conftest import make_tiny_davis

from ttt.runner import RunContext
from ttt.sweep import RunPaths, plan_units, rebuild_results, summarize
from ttt.tta import TTTConfig
from ttt.zoo import build_network

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


def test_ray_executor_runs_units_and_matches_local(tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    from ttt.executors import EXECUTORS

    davis = make_tiny_davis(tmp_path / "DAVIS", {"alpha": (5, 32, 32), "beta": (5, 32, 48)})
    torch.manual_seed(0)
    weights = tmp_path / "w.pth"
    torch.save(build_network("stcn-tiny-synth").state_dict(), weights)
    units = plan_units("stcn-tiny-synth", "mcc", ["clean"], [1], ["alpha", "beta"])
    cfg = TTTConfig(method="mcc", lr=1e-3, iterations=2)

    def ctx(out):
        return RunContext(out=out, data=davis, davis_c=None, model="stcn-tiny-synth", weights=str(weights),
                          ttt=cfg, device="cpu", threads=1)

    seen = []
    res = EXECUTORS["ray"](units, ctx(tmp_path / "ray"), workers=2, on_done=seen.append)
    assert sorted(r["unit"] for r in res) == ["clean/1/alpha", "clean/1/beta"]
    assert all(r["status"] == "done" for r in res) and len(seen) == 2
    assert not ray.is_initialized()
    paths = RunPaths(tmp_path / "ray")
    assert rebuild_results(paths) == 4 and summarize(paths, units)["done"] == 2
    # the same units run locally give the same scores (CPU, same seed: bit-identical TTT)
    EXECUTORS["local"](units, ctx(tmp_path / "local"), workers=1)
    rebuild_results(RunPaths(tmp_path / "local"))
    a = pd.read_csv(paths.results).sort_values(["video", "object"]).reset_index(drop=True)
    b = pd.read_csv(tmp_path / "local" / "results.csv").sort_values(["video", "object"]).reset_index(drop=True)
    pd.testing.assert_series_equal(a.JF, b.JF)
