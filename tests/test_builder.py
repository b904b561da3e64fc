"""The DAVIS-C builder: layout, manifest, determinism across worker counts, kill-and-resume, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
from conftest import make_tiny_davis

from davis_c.__main__ import main
from davis_c.build import BuildConfig, build
from davis_c.errors import UserError
from davis_c.manifest import sha256_file

REPO = Path(__file__).resolve().parent.parent
CORR = ("gaussian_noise", "glass_blur", "motion_blur", "pixelate")
KILL_CORR = ("glass_blur", "defocus_blur", "motion_blur", "gaussian_noise")


def _tree(root: Path) -> dict[str, bytes]:
    """Every file's bytes under `root` except run.json (which records the time of the run)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "run.json"}


def _cfg(src: Path, out: Path, **kw) -> BuildConfig:
    base = dict(src=src, out=out, corruptions=CORR, strengths=("low", "high"), workers=1, seed=0)
    base.update(kw)
    return BuildConfig(**base)


def test_layout_and_manifest(tiny_davis, tmp_path):
    out = tmp_path / "out"
    summary = build(_cfg(tiny_davis, out), progress=False)
    assert summary == {**summary, "units": 16, "built": 16, "skipped": 0}
    assert sorted(p.name for p in out.iterdir()) == ["high", "low", "run.json"]
    for strength in ("low", "high"):
        assert sorted(p.name for p in (out / strength).iterdir()) == sorted(CORR)
        for c in CORR:
            man = json.loads((out / strength / c / "manifest.json").read_text())
            assert man["strength"] == strength and man["corruption"] == c and man["seed"] == 0
            assert man["severity"] == {"low": 3, "high": 5}[strength] and "numpy" in man["tools"]
            assert man["frame_count"] == 12 and sorted(man["videos"]) == ["alpha", "beta"]
            for video, (h, w) in {"alpha": (48, 64), "beta": (40, 72)}.items():
                files = sorted((out / strength / c / video).iterdir())
                assert [p.name for p in files] == [f"{i:05d}.jpg" for i in range(6)]
                assert cv2.imread(str(files[0])).shape == (h, w, 3)
                assert man["videos"][video]["files"] == {p.name: sha256_file(p) for p in files}
    glass = json.loads((out / "high" / "glass_blur" / "manifest.json").read_text())
    assert glass["parameters"] == [1.5, 4, 2] and glass["random"] is True and glass["jpeg_quality"] == 95
    assert json.loads((out / "run.json").read_text())["config"]["seed"] == 0


def test_verify_command(tiny_davis, tmp_path, capsys):
    out = tmp_path / "out"
    build(_cfg(tiny_davis, out, corruptions=("contrast",), strengths=("med",)), progress=False)
    assert main(["verify", str(out)]) == 0
    (out / "med" / "contrast" / "beta" / "00003.jpg").write_bytes(b"tampered")
    assert main(["verify", str(out)]) == 1
    assert "beta/00003.jpg: sha256 differs" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "nothing")]) == 2


def test_deterministic_whatever_the_worker_count(tiny_davis, tmp_path):
    corr = (*CORR, "crf_compression")
    build(_cfg(tiny_davis, tmp_path / "w1", workers=1, corruptions=corr), progress=False)
    build(_cfg(tiny_davis, tmp_path / "w2", workers=2, corruptions=corr), progress=False)
    one, two = _tree(tmp_path / "w1"), _tree(tmp_path / "w2")
    assert len(one) == 20 * 6 + 10 and one == two
    build(_cfg(tiny_davis, tmp_path / "s1", corruptions=("gaussian_noise",), seed=1), progress=False)
    other = _tree(tmp_path / "s1")
    assert other["low/gaussian_noise/alpha/00000.jpg"] != one["low/gaussian_noise/alpha/00000.jpg"]


def test_resume_skips_complete_units_and_refuses_other_seed(tiny_davis, tmp_path):
    out = tmp_path / "out"
    build(_cfg(tiny_davis, out, corruptions=("gaussian_noise",)), progress=False)
    before = _tree(out)
    import shutil

    shutil.rmtree(out / "high" / "gaussian_noise" / "beta")
    (out / "low" / "gaussian_noise" / ".alpha.x.part").mkdir()  # a stale temporary from a killed run
    summary = build(_cfg(tiny_davis, out, corruptions=("gaussian_noise",)), progress=False)
    assert (summary["built"], summary["skipped"]) == (1, 3)
    assert _tree(out) == before
    with pytest.raises(UserError, match="built with seed=0, this run has 5"):
        build(_cfg(tiny_davis, out, corruptions=("gaussian_noise",), seed=5), progress=False)


def _cli(src: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "davis_c", "build", "--src", str(src), "--out", str(out), "--no-progress",
            "--corruptions", ",".join(KILL_CORR), "--workers", "1", *extra]


def test_kill_and_resume_is_byte_identical(tmp_path):
    src = make_tiny_davis(tmp_path / "DAVIS", {"v1": (3, 64, 96), "v2": (3, 48, 80), "v3": (3, 40, 64)})
    full = tmp_path / "full"
    build(_cfg(src, full, corruptions=KILL_CORR, strengths=("low", "med", "high")), progress=False)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli(src, out), env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if [p for p in out.glob("*/*/*") if p.is_dir() and not p.name.startswith(".")]:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    complete = [p for p in out.glob("*/*/*") if p.is_dir() and not p.name.startswith(".")]
    assert 1 <= len(complete) < 36, "kill landed mid-build"
    assert not list(out.glob("*/*/manifest.json"))
    assert main(["build", *_cli(src, out)[4:]]) == 0
    assert not list(out.glob("*/*/.*part*"))
    assert _tree(out) == _tree(full)


def test_unreadable_frame_is_a_one_line_error(tmp_path, capsys):
    src = make_tiny_davis(tmp_path / "DAVIS", {"v": (3, 40, 56)})
    bad = src / "JPEGImages" / "480p" / "v" / "00001.jpg"
    bad.write_bytes(b"not a jpeg")
    assert main(["build", *_cli(src, tmp_path / "out")[4:]]) == 2
    assert capsys.readouterr().err == f"error: {bad}: unreadable or truncated image\n"
    assert not [p for p in (tmp_path / "out").glob("*/*/v")]


def test_bad_names_are_user_errors(tiny_davis, tmp_path):
    for kw, msg in ((dict(strengths=("extreme",)), "unknown strength"), (dict(corruptions=("fog",)), "unknown corr"),
                    (dict(videos=("nope",)), "video 'nope' has no frame directory")):
        with pytest.raises(UserError, match=msg):
            build(_cfg(tiny_davis, tmp_path / "o", **kw), progress=False)


def test_parallel_error_stops_the_build_and_a_rerun_completes_it(tmp_path):
    """With helpers and the main process both corrupting, a bad frame in any unit is the build's error; fixing it
    and re-running gives the same tree as a clean single-process build."""
    src = make_tiny_davis(tmp_path / "DAVIS", {"a": (3, 40, 56), "b": (3, 40, 56), "c": (2, 40, 56)})
    bad = src / "JPEGImages" / "480p" / "b" / "00001.jpg"
    good = bad.read_bytes()
    bad.write_bytes(b"not a jpeg")
    cfg = _cfg(src, tmp_path / "out", corruptions=("gaussian_noise", "pixelate", "contrast"), workers=3)
    with pytest.raises(UserError, match="unreadable or truncated image"):
        build(cfg, progress=False)
    assert not list((tmp_path / "out").glob("*/*/b"))
    bad.write_bytes(good)
    before = {p for p in (tmp_path / "out").glob("*/*/*") if p.is_dir() and not p.name.startswith(".")}
    summary = build(cfg, progress=False)
    new = [p for p in (tmp_path / "out").glob("*/*/*") if p.is_dir() and not p.name.startswith(".") and p not in before]
    assert summary["built"] == len(new) and summary["frames"] == sum(len(list(p.glob("*.jpg"))) for p in new)
    build(_cfg(src, tmp_path / "ref", corruptions=cfg.corruptions, workers=1), progress=False)
    assert _tree(tmp_path / "out") == _tree(tmp_path / "ref")
