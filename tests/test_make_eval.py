"""`make eval` end to end on the embedded synthetic data with a tiny random-weight model, and its errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import REPO

from ttt.zoo import build_network

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


def _make(tmp_path: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    stamp = tmp_path / "stamp"  # an up-to-date setup stamp: no pip install inside the test
    stamp.touch()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TORCH_HOME": str(tmp_path / "torch_home")}
    return subprocess.run(["make", "-s", "-C", str(REPO), "eval", f"STAMP={stamp}",
                           f"PY={sys.executable}", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _synth(tmp_path: Path) -> Path:
    root = tmp_path / "DAVIS"
    subprocess.run([sys.executable, "-m", "davis_c", "synth", "--out", str(root), "--train", "1", "--val", "2",
                    "--frames", "6", "--size", "64x48", "--quiet", "--workers", "1"], check=True, cwd=REPO,
                   capture_output=True, timeout=300)
    return root


def test_missing_data_prints_the_download_command(tmp_path):
    r = _make(tmp_path, f"DATA={tmp_path / 'none'}")
    assert r.returncode != 0
    assert "python -m davis_c download davis2017 --out data" in r.stdout + r.stderr


def test_missing_davis_c_and_weights_print_the_commands(tmp_path):
    data = _synth(tmp_path)
    r = _make(tmp_path, f"DATA={data}", f"DAVISC={tmp_path / 'none'}")
    assert r.returncode != 0 and "python -m davis_c download davis-c --out data" in r.stdout + r.stderr
    r = _make(tmp_path, f"DATA={data}", "VARIANTS=clean", "MODEL=stcn-dy")
    assert r.returncode != 0 and "python -m ttt download stcn-dy" in r.stdout + r.stderr


def test_make_eval_end_to_end_tiny(tmp_path):
    if subprocess.run([sys.executable, "-m", "eval", "report", "--help"], cwd=REPO,
                      capture_output=True).returncode != 0:
        pytest.skip("`python -m eval report` is not available yet")
    data = _synth(tmp_path)
    davisc = tmp_path / "DAVIS-C"
    subprocess.run([sys.executable, "-m", "davis_c", "build", "--src", str(data), "--out", str(davisc),
                    "--corruptions", "gaussian_noise,contrast", "--strengths", "low", "--workers", "1",
                    "--no-progress"], check=True, cwd=REPO, capture_output=True, timeout=300)
    torch.manual_seed(0)
    weights = tmp_path / "stcn-tiny.pth"
    torch.save(build_network("stcn-tiny-synth").state_dict(), weights)
    run, report = tmp_path / "run", tmp_path / "report"
    r = _make(tmp_path, f"DATA={data}", f"DAVISC={davisc}", "MODEL=stcn-tiny-synth", "TTT=mcc",
              f"WEIGHTS={weights}", "VARIANTS=clean,low/gaussian_noise,low/contrast", "ITERATIONS=2",
              "SEEDS=1", f"RUN={run}", f"REPORT={report}", "TTT_ARGS=--device cpu --threads 1")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    table = pd.read_csv(run / "results.csv")
    assert set(table.variant) == {"clean", "low/gaussian_noise", "low/contrast"}
    assert len(table) == 3 * 7  # 3 variants x 7 objects of the 2 synthetic val videos
    assert report.is_dir() and any(report.iterdir())
