"""Sweeps: variants, units, resumability (kill and re-run), failure records, the results table."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import REPO, make_tiny_davis

from davis_c.errors import UserError
from ttt.sweep import RunPaths, Unit, all_variants, parse_variants, pending_units, plan_units, read_record
from ttt.zoo import build_network

torch.set_num_threads(1)
KEY = ["dataset", "variant", "strength", "corruption", "model", "method", "seed", "video", "object"]


def test_variants():
    assert len(all_variants()) == 42 and "high/style4" in all_variants()
    assert parse_variants(["clean", "all"])[:2] == ["clean", "low/gaussian_noise"]
    assert len(parse_variants(["clean", "all", "low"])) == 43
    assert parse_variants(["med"]) == [v for v in all_variants() if v.startswith("med/")]
    with pytest.raises(UserError, match="unknown variant 'extreme/fog'"):
        parse_variants(["extreme/fog"])


def test_units_and_paths(tmp_path):
    units = plan_units("m", "mcc", ["clean", "low/contrast"], [1, 5], ["a", "b"])
    assert len(units) == 8 and units[0] == Unit("m", "mcc", "clean", 1, "a")
    p = RunPaths(tmp_path)
    assert p.pred_dir(units[-1]) == tmp_path / "low/contrast/5/b"
    assert pending_units(p, units) == units


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    davis = make_tiny_davis(root / "DAVIS", {"alpha": (6, 32, 48), "beta": (6, 32, 40), "gamma": (6, 32, 32)})
    davisc = root / "DAVIS-C" / "low" / "gaussian_noise"
    for v in ("alpha", "beta", "gamma"):
        shutil.copytree(davis / "JPEGImages" / "480p" / v, davisc / v)
    torch.manual_seed(0)
    weights = root / "stcn-tiny.pth"
    torch.save(build_network("stcn-tiny-synth").state_dict(), weights)
    return root, davis, root / "DAVIS-C", weights


def _cmd(davis, davisc, weights, out, *extra):
    return [sys.executable, "-m", "ttt", "run", "--model", "stcn-tiny-synth", "--weights", str(weights),
            "--ttt", "mcc", "--data", str(davis), "--davis-c", str(davisc), "--out", str(out),
            "--iterations", "2", "--device", "cpu", "--threads", "1", *extra]


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def _table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "results.csv")


def test_variant_run_rows_and_failure_is_recorded_and_retried(setup, tmp_path):
    root, davis, davisc, weights = setup
    bad = tmp_path / "DAVIS-C"
    shutil.copytree(davisc, bad)
    (bad / "low/gaussian_noise/beta/00003.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "run"
    r = subprocess.run(_cmd(davis, bad, weights, out, "--variants", "clean,low/gaussian_noise",
                            "--videos", "alpha,beta"), env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 3, r.stderr[-2000:]
    assert "unit low/gaussian_noise/1/beta failed" in r.stderr and "00003.jpg" in r.stderr
    rec = read_record(out / "units/low/gaussian_noise/1/beta.json")
    assert rec["status"] == "failed" and rec["kind"] == "input" and "00003.jpg" in rec["error"]
    assert not (out / "low/gaussian_noise/1/beta").exists()
    t = _table(out)
    assert len(t) == 6 and not t.duplicated(KEY).any()
    noisy = t[t.variant == "low/gaussian_noise"]
    assert set(noisy.strength) == {"low"} and set(noisy.corruption) == {"gaussian_noise"}
    assert set(t[t.variant == "clean"].corruption) == {"none"}
    assert t.checkpoint_sha256.str.len().eq(64).all() and t.JF.between(0, 1).all()
    # fix the frame and re-run: only the failed unit runs, the table is complete without duplicates
    shutil.copy(davisc / "low/gaussian_noise/beta/00003.jpg", bad / "low/gaussian_noise/beta/00003.jpg")
    r = subprocess.run(_cmd(davis, bad, weights, out, "--variants", "clean,low/gaussian_noise",
                            "--videos", "alpha,beta"), env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "4 units, 3 already done, 1 to run" in r.stdout
    t = _table(out)
    assert len(t) == 8 and not t.duplicated(KEY).any()


def test_kill_and_resume_loses_and_duplicates_nothing(setup, tmp_path):
    root, davis, davisc, weights = setup
    out = tmp_path / "run"
    cmd = _cmd(davis, davisc, weights, out, "--variants", "clean", "--seeds", "1,5")
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "units").rglob("*.json"))) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p: p.stat().st_mtime_ns for p in (out / "units").rglob("*.json")}
    assert 2 <= len(done_before) < 6, "the sweep finished before it could be killed"
    r = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"6 units, {len(done_before)} already done" in r.stdout
    assert all(p.stat().st_mtime_ns == m for p, m in done_before.items())  # finished units were skipped
    t = _table(out)
    assert len(t) == 12 and not t.duplicated(KEY).any()
    assert sorted(set(zip(t.seed, t.video))) == [(s, v) for s in (1, 5) for v in ("alpha", "beta", "gamma")]
    assert not list(out.rglob(".*.part*"))


def test_missing_record_reruns_only_that_unit(setup, tmp_path):
    root, davis, davisc, weights = setup
    out = tmp_path / "run"
    cmd = _cmd(davis, davisc, weights, out, "--videos", "alpha,gamma")
    assert subprocess.run(cmd, env=_env(), capture_output=True, timeout=600).returncode == 0
    first = _table(out)
    # a kill after the prediction directory was renamed but before the record was written
    (out / "units/clean/1/gamma.json").unlink()
    r = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert "2 units, 1 already done, 1 to run" in r.stdout
    again = _table(out)
    assert len(again) == len(first) == 4 and not again.duplicated(KEY).any()
    cols = ["video", "object", "JF"]
    pd.testing.assert_frame_equal(first[cols].sort_values(cols).reset_index(drop=True),
                                  again[cols].sort_values(cols).reset_index(drop=True))


def test_bad_input_errors_name_the_problem(setup, tmp_path):
    root, davis, davisc, weights = setup
    r = subprocess.run(_cmd(davis, tmp_path / "nope", weights, tmp_path / "o", "--variants", "high/contrast"),
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "high/contrast: DAVIS-C variant missing" in r.stderr and "python -m davis_c download davis-c" in r.stderr
    r = subprocess.run(_cmd(davis, davisc, tmp_path / "missing.pth", tmp_path / "o"), env=_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "missing.pth: --weights file not found" in r.stderr


@pytest.mark.parametrize("exc,kind", [
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "oom"),
    (RuntimeError("CUDA error: out of memory"), "oom"),
])
def test_oom_is_recorded_with_a_hint_and_the_sweep_continues(setup, tmp_path, monkeypatch, exc, kind):
    import ttt.runner as runner
    from ttt.executors.local import run_local
    from ttt.tta import TTTConfig

    root, davis, davisc, weights = setup
    real = runner.adapt_unit

    def flaky(ctx, unit, video):
        if unit.video == "beta":
            raise exc
        return real(ctx, unit, video)

    monkeypatch.setattr(runner, "adapt_unit", flaky)
    runner._CACHE.clear()
    ctx = runner.RunContext(out=tmp_path / "run", data=davis, davis_c=None, model="stcn-tiny-synth",
                            weights=str(weights), device="cpu", threads=1,
                            ttt=TTTConfig(method="ae", lr=1e-3, iterations=2))
    units = plan_units("stcn-tiny-synth", "ae", ["clean"], [1], ["alpha", "beta", "gamma"])
    res = run_local(units, ctx, workers=1)
    assert [r["status"] for r in res] == ["done", "failed", "done"]
    rec = read_record(tmp_path / "run/units/clean/1/beta.json")
    assert rec["kind"] == kind and "--max-obj" in rec["hint"] and "--amp" in rec["hint"]
    assert not (tmp_path / "run/clean/1/beta").exists()
    from ttt.sweep import rebuild_results

    assert rebuild_results(RunPaths(ctx.out)) == 4
    assert "out of memory" in (tmp_path / "run/failures.json").read_text()


def test_local_executor_with_two_worker_processes(setup, tmp_path):
    from ttt.executors.local import run_local
    from ttt.runner import RunContext
    from ttt.sweep import rebuild_results
    from ttt.tta import TTTConfig

    root, davis, davisc, weights = setup
    units = plan_units("stcn-tiny-synth", "mcc", ["clean"], [1], ["alpha", "beta"])

    def ctx(out):
        return RunContext(out=out, data=davis, davis_c=None, model="stcn-tiny-synth", weights=str(weights),
                          device="cpu", threads=1, ttt=TTTConfig(method="mcc", lr=1e-3, iterations=2))

    done = []
    res = run_local(units, ctx(tmp_path / "two"), workers=2, on_done=done.append)
    assert sorted(r["status"] for r in res) == ["done", "done"] and len(done) == 2
    run_local(units, ctx(tmp_path / "one"), workers=1)
    assert rebuild_results(RunPaths(tmp_path / "two")) == rebuild_results(RunPaths(tmp_path / "one")) == 4
    a, b = (pd.read_csv(p / "results.csv").sort_values(["video", "object"]).reset_index(drop=True)
            for p in (tmp_path / "two", tmp_path / "one"))
    pd.testing.assert_series_equal(a.JF, b.JF)
