"""`python -m ttt demo`: the CI regression against the golden summary, the pipeline on a micro profile with
random weights (stages cached, none deterministic over seeds, lr=0 tt-MCC == none), summary comparison."""

from __future__ import annotations

import copy
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from davis_c.errors import UserError

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden" / "demo_ci_summary.json"
GOLDENS = {"stcn-tiny-synth": GOLDEN, "xmem-tiny-synth": REPO / "tests" / "golden" / "demo_ci_summary_xmem.json"}


def pinned_numerics_env() -> dict[str, str]:
    """The environment of a golden run: on x86-64, torch's own and oneDNN's CPU kernels capped at AVX2, so that
    AVX-512 machines compute the floats the goldens were recorded with (they were recorded on an AVX2 machine)."""
    env = dict(os.environ)
    if platform.machine().lower() in ("x86_64", "amd64"):
        env.update(ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2")
    return env


def _embedded_weights(model: str = "stcn-tiny-synth") -> Path:
    from ttt.zoo import default_path, get_spec

    return default_path(get_spec(model))


@pytest.mark.parametrize("model", list(GOLDENS))
def test_demo_ci_profile_matches_golden_summary(tmp_path, model):
    """The reduced demo (builder, tiny model, tt-MCC, evaluator) reproduces the committed golden summary, for
    the embedded STCN and XMem. Regenerate after an intended change with `make golden`."""
    golden = GOLDENS[model]
    if not _embedded_weights(model).is_file():
        pytest.skip(f"embedded weights {_embedded_weights(model)} absent (run `make train-tiny`)")
    assert golden.is_file(), f"{golden} missing: generate it with `make golden`"
    cmd = [sys.executable, "-m", "ttt", "demo", "--profile", "ci", "--model", model, "--out", str(tmp_path / "out"),
           "--work", str(tmp_path / "work"), "--no-report", "--check-golden", str(golden)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, env=pinned_numerics_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "summary matches" in proc.stdout


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    """A micro demo with a random-weight tiny STCN: 1 video x 5 frames, clean + 2 variants, 2 seeds."""
    import torch

    from ttt.demo import PROFILES, run_demo
    from ttt.zoo import build_network

    root = tmp_path_factory.mktemp("demo")
    torch.manual_seed(0)
    torch.save(build_network("stcn-tiny-synth").state_dict(), root / "rand.pth")
    params = dict(PROFILES["ci"], videos=1, frames=5, size=(64, 48), corruptions=("contrast", "style1"),
                  seeds=(1, 2), iterations=2, iters_per_step=2, lr=0.0)
    first = run_demo(root / "out", params, root / "work", weights=str(root / "rand.pth"), progress=False)
    again = run_demo(root / "out2", params, root / "work", weights=str(root / "rand.pth"), report=False,
                     progress=False)
    return root, params, first, again


def test_micro_demo_writes_report_results_and_summary(micro):
    import pandas as pd

    root, params, first, _ = micro
    out = root / "out"
    df = pd.read_csv(out / "results.csv")
    assert set(df["method"]) == {"none", "mcc"}
    assert set(df["variant"]) == {"clean", "high/contrast", "high/style1"}
    assert set(df["seed"]) == {1, 2}
    assert df["JF"].between(0, 1).all()
    assert (out / "README.md").is_file() and (out / "tables" / "table1.md").is_file()
    assert list((out / "figures").glob("*.png"))
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(first["summary"]))
    labels = [r["method"] for r in first["summary"]["table1"]]
    assert labels == ["none", "mcc"]
    assert (Path(first["data"]) / "styles" / "4.png").is_file()


def test_micro_demo_none_is_seed_independent_and_lr0_mcc_equals_none(micro):
    import pandas as pd

    df = pd.read_csv(micro[0] / "out" / "results.csv")
    key = ["variant", "video", "object"]
    by = {(m, s): g.set_index(key)["JF"].sort_index() for (m, s), g in df.groupby(["method", "seed"])}
    pd.testing.assert_series_equal(by[("none", 1)], by[("none", 2)])
    pd.testing.assert_series_equal(by[("mcc", 1)], by[("none", 1)])  # lr 0: the weights never move


def test_micro_demo_rerun_reuses_every_stage(micro):
    _, _, first, again = micro
    assert again["summary"] == first["summary"]
    assert again["runs"] == first["runs"]
    for name in ("data", "ttt_none", "ttt_mcc"):  # nothing recomputed: far below the first run's cost
        assert again["times"][name]["cpu_s"] <= max(1.0, 0.5 * first["times"][name]["cpu_s"]), name


def test_compare_summaries_flags_changes_beyond_tolerance(micro):
    from ttt.demo import compare_summaries

    base = micro[2]["summary"]
    assert compare_summaries(base, copy.deepcopy(base), 1e-4) == []
    near, far = copy.deepcopy(base), copy.deepcopy(base)
    k = next(iter(near["objects"]))
    near["objects"][k] += 5e-5
    far["objects"][k] += 3e-4
    assert compare_summaries(near, base, 1e-4) == []
    assert any(p.startswith(f"objects.{k}") for p in compare_summaries(far, base, 1e-4))
    del far["per_variant"]["mcc"]
    assert any(p.startswith("missing: per_variant.mcc.") for p in compare_summaries(far, base, 1e-4))
    other = copy.deepcopy(base)
    other["params"]["frames"] = 99
    assert any("parameters differ" in p for p in compare_summaries(other, base, 1e-4))


def test_profile_errors():
    from ttt.demo import resolve_profile

    with pytest.raises(UserError, match="unknown demo profile 'nope'"):
        resolve_profile("nope", {})
    with pytest.raises(UserError, match="--videos must be positive"):
        resolve_profile("ci", {"videos": 0})
    assert resolve_profile("full", {"seeds": (3,)})["seeds"] == (3,)


def test_demo_cli_bad_input_is_one_line_error(tmp_path):
    cmd = [sys.executable, "-m", "ttt", "demo", "--profile", "ci", "--out", str(tmp_path / "o"), "--work",
           str(tmp_path / "w"), "--weights", str(tmp_path / "missing.pth")]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "missing.pth" in proc.stderr and "Traceback" not in proc.stderr
