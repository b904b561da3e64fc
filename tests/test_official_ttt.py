"""TTT losses and gradients against the official STCN TTT code (opt-in: needs a checkout and its environment).

Set `TTT_OFFICIAL_REPO` to a checkout of ttt-matching-based-vos/ttt_matching_vos and build
`bench/_work/official-venv` (torch + torchvision) as `bench/ttt_official.py` describes; otherwise this skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
OFFICIAL_PY = REPO / "bench" / "_work" / "official-venv" / "bin" / "python"


@pytest.mark.slow
def test_losses_and_gradients_equal_the_official_code(tmp_path):
    official = os.environ.get("TTT_OFFICIAL_REPO")
    if not official or not (Path(official) / "STCN" / "ttt" / "model" / "model_ttt.py").is_file():
        pytest.skip("TTT_OFFICIAL_REPO (a ttt_matching_vos checkout) not set")
    if not OFFICIAL_PY.is_file():
        pytest.skip(f"official environment absent: {OFFICIAL_PY}")
    out = tmp_path / "report.json"
    subprocess.run([sys.executable, str(REPO / "bench" / "ttt_loss_official.py"), "--official", official,
                    "--python", str(OFFICIAL_PY), "--size", "128x96", "--json", str(out)],
                   check=True, timeout=900, capture_output=True)
    report = json.loads(out.read_text())
    for method in ("mcc", "ent", "ae"):
        r = report[method]
        assert r["missing_on_one_side"] == [], method
        assert r["loss_abs_diff"] <= 1e-6 * abs(r["loss_official"]), (method, r)
        assert r["worst_rel_l2"] < 1e-4, (method, r["worst_tensor"], r["worst_rel_l2"])
        assert r["tensors"] > 200


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mcc", "ent"])
def test_whole_ttt_loop_equals_the_official_loop_on_replayed_samples(tmp_path, method):
    """Our TTT loop vs the official one, the official replaying our frame sequences (bench/ttt_loop_official.py)."""
    official = os.environ.get("TTT_OFFICIAL_REPO")
    if not official or not (Path(official) / "STCN" / "eval_all_datasets_ttt.py").is_file():
        pytest.skip("TTT_OFFICIAL_REPO (a ttt_matching_vos checkout) not set")
    if not OFFICIAL_PY.is_file():
        pytest.skip(f"official environment absent: {OFFICIAL_PY}")
    out = tmp_path / "report.json"
    subprocess.run([sys.executable, str(REPO / "bench" / "ttt_loop_official.py"), "--official", official,
                    "--python", str(OFFICIAL_PY), "--method", method, "--frames", "12", "--size", "128x96",
                    "--jump-steps", "2", "--per-step", "2", "--json", str(out)],
                   check=True, timeout=1200, capture_output=True)
    r = json.loads(out.read_text())
    assert r["iterations"] == 4 and r["sequence_draws_official"] == 4  # no sequence rejected by their rule
    assert r["loss_max_abs_diff"] < 1e-5, (r["losses_ours"], r["losses_official"])
    assert r["update_rel_l2"] < 1e-2
    assert r["final_mask_agreement"] > 0.999


def test_gpu_suite_names_missing_official_code(tmp_path):
    """bench/gpu_suite.py stops with one line naming the official folders it lacks, before running anything."""
    (tmp_path / "official" / "stcn").mkdir(parents=True)
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_suite.py"), "--official",
                           str(tmp_path / "official"), "--out", str(tmp_path / "out"), "--quick"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "lacks xmem, ttt/" in proc.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_gpu_suite_keeps_to_its_budget(tmp_path):
    """With too little of --budget left for a step, it is recorded as skipped (and the summary still written)."""
    for d in ("stcn", "xmem", "ttt"):
        (tmp_path / "official" / d).mkdir(parents=True)
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_suite.py"), "--official",
                           str(tmp_path / "official"), "--out", str(tmp_path / "out"), "--quick", "--budget", "20"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [s["name"] for s in summary["steps"]] == ["infer_speed", "equivalence_official", "ttt_speed_stcn",
                                                     "ttt_official", "ttt_memory_xmem"]
    assert [s["rc"] for s in summary["steps"]] == ["skipped"] * 5
    assert "suite budget spent" in (tmp_path / "out" / "suite.log").read_text()
