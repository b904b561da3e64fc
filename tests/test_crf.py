"""crf_compression: the official ffmpeg pipeline, frame-count check, clear errors for a missing ffmpeg/libx265."""

from __future__ import annotations

import importlib.util
import shutil
import stat
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from davis_c.corruptions import crf, ffmpeg_tools
from davis_c.corruptions.base import Options
from davis_c.errors import UserError

REPO = Path(__file__).resolve().parent.parent


def _ffmpeg_or_skip() -> str:
    try:
        return ffmpeg_tools.require_ffmpeg()
    except UserError as exc:
        pytest.skip(str(exc))


def _reference():
    spec = importlib.util.spec_from_file_location("reference_davis_c", REPO / "bench" / "reference_davis_c.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _video(d: Path, n: int = 4, h: int = 48, w: int = 64) -> list[Path]:
    d.mkdir(parents=True, exist_ok=True)
    astro = data.astronaut()
    paths = []
    for i in range(n):
        p = d / f"{i:05d}.jpg"
        cv2.imwrite(str(p), np.ascontiguousarray(astro[100 + 3 * i:100 + 3 * i + h, 150:150 + w, ::-1]))
        paths.append(p)
    return paths


@pytest.mark.parametrize("severity", [3, 5])
def test_equals_official_three_commands(tmp_path, severity):
    exe = _ffmpeg_or_skip()
    paths = _video(tmp_path / "v")
    ours = crf.compress_files(paths, severity, Options())
    ref = _reference().crf_compression(paths, severity, exe)
    assert len(ours) == len(paths) and ours == ref
    dec = cv2.imdecode(np.frombuffer(ours[0], np.uint8), cv2.IMREAD_COLOR)
    src = cv2.imread(str(paths[0]))
    assert dec.shape == src.shape
    assert 0 < np.abs(dec.astype(int) - src).mean() < 40  # compressed, not garbage


def test_odd_frame_size_and_in_memory_apply(tmp_path):
    _ffmpeg_or_skip()
    frames = [cv2.imread(str(p))[..., ::-1] for p in _video(tmp_path / "odd", n=3, h=49, w=65)]
    out = crf.crf_compression(frames, 4, None, Options())
    assert [o.shape for o in out] == [(49, 65, 3)] * 3 and out[0].dtype == np.uint8


def test_frame_count_mismatch_is_an_error(tmp_path, monkeypatch):
    _ffmpeg_or_skip()
    real = crf._pipeline

    def dropping(*args, **kwargs):
        frames_dir = real(*args, **kwargs)
        sorted(frames_dir.glob("*.jpg"))[-1].unlink()
        return frames_dir

    monkeypatch.setattr(crf, "_pipeline", dropping)
    with pytest.raises(UserError, match="ffmpeg produced 2 frames for 3 input frames"):
        crf.compress_files(_video(tmp_path / "v", n=3), 3, Options())


def test_missing_ffmpeg_says_how_to_install(monkeypatch):
    with pytest.raises(UserError, match="apt-get install ffmpeg.*imageio-ffmpeg"):
        ffmpeg_tools.require_ffmpeg("/nonexistent/ffmpeg")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails
    with pytest.raises(UserError, match="ffmpeg not found.*apt-get install ffmpeg"):
        ffmpeg_tools.find_ffmpeg()


def test_ffmpeg_without_libx265_is_refused(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Encoders:'\necho ' V....D libx264              libx264 H.264'\n"
                    "echo ' V....D mpeg4                MPEG-4 part 2'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(UserError, match="lacks the encoder.*libx265.*apt-get install ffmpeg"):
        ffmpeg_tools.require_ffmpeg(str(fake))


def test_build_cli_reports_missing_ffmpeg_in_one_line(tiny_davis, tmp_path, capsys):
    from davis_c.__main__ import main

    rc = main(["build", "--src", str(tiny_davis), "--out", str(tmp_path / "out"), "--corruptions",
               "crf_compression", "--ffmpeg", "/nope/ffmpeg", "--workers", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ffmpeg not found at '/nope/ffmpeg'") and err.count("\n") == 1
