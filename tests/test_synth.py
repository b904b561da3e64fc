"""The embedded synthetic dataset: a valid DAVIS root, deterministic, with the promised content."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from davis_c.__main__ import main
from davis_c.dataset import DavisDataset
from davis_c.errors import UserError
from davis_c.synth import SynthConfig, generate, photo, place, scene
from davis_c.validate import validate

SMALL = {"n_train": 2, "n_val": 2, "n_frames": 5, "size": (96, 64)}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def stats_root(tmp_path_factory) -> Path:
    """Enough videos and frames to check the statistics of the content (small frames)."""
    return generate(tmp_path_factory.mktemp("synth") / "root", n_train=6, n_val=6, n_frames=30,
                    size=(128, 72), seed=3, progress=False)


def test_same_seed_gives_identical_bytes(tmp_path):
    a = _files(generate(tmp_path / "a", **SMALL, seed=7, progress=False))
    b = _files(generate(tmp_path / "b", **SMALL, seed=7, progress=False, workers=2))  # parallel: same bytes
    assert a.keys() == b.keys() and a == b
    assert sum(k.endswith(".jpg") for k in a) == 4 * 5 and sum(k.endswith(".png") for k in a) == 4 * 5


def test_different_seed_differs_and_splits_are_disjoint_streams(tmp_path):
    a = _files(generate(tmp_path / "a", **SMALL, seed=1, progress=False))
    b = _files(generate(tmp_path / "b", **SMALL, seed=2, progress=False))
    jpgs = [k for k in a if k.endswith(".jpg")]
    assert all(a[k] != b[k] for k in jpgs)
    train0 = a["JPEGImages/480p/synth-train-000/00000.jpg"]
    assert train0 != a["JPEGImages/480p/synth-val-000/00000.jpg"]
    # a video depends only on (seed, split, index): more train videos do not change val ones
    c = _files(generate(tmp_path / "c", **{**SMALL, "n_train": 3}, seed=1, progress=False))
    assert all(c[k] == a[k] for k in a if "synth-val-" in k)


def test_root_is_valid_davis_layout(tmp_path):
    root = generate(tmp_path / "r", **SMALL, seed=0, progress=False)
    assert validate(root, ("train", "val"), sparse_ok=False) == []
    ds = DavisDataset.from_root(root)
    assert ds.videos("train") == ["synth-train-000", "synth-train-001"]
    assert ds.videos("val") == ["synth-val-000", "synth-val-001"]
    v = ds.video("synth-val-001")
    assert v.size == (64, 96) and len(v) == 5 and v.frames[0].suffix == ".jpg"
    manifest = json.loads((root / "synth.json").read_text())
    assert manifest["config"]["seed"] == 0 and set(manifest["videos"]) == set(ds.videos())


def test_objects_labelled_consecutively_and_visible_first(stats_root):
    ds = DavisDataset.from_root(stats_root)
    counts = []
    for v in ds.iter_videos(names=ds.videos()):
        first = v.first_mask()
        ids = v.object_ids()
        assert ids == list(range(1, len(ids) + 1)) and 1 <= len(ids) <= 4, (v.name, ids)
        area = first.size
        for k in ids:  # each object clearly visible in frame 0 (not a sliver)
            assert (first == k).sum() >= 0.01 * area, (v.name, k)
        counts.append(len(ids))
    assert len(set(counts)) >= 3  # varied numbers of objects


def test_objects_move_smoothly_and_are_trackable(stats_root):
    ds = DavisDataset.from_root(stats_root)
    moved, ious = 0, []
    for v in ds.iter_videos(names=ds.videos()):
        masks = [v.read_mask(i) for i in range(len(v))]
        for k in v.object_ids():
            cur = [m == k for m in masks]
            moved += int(np.logical_xor(cur[0], cur[-1]).sum() > 0.2 * cur[0].sum())
            for a, b in zip(cur, cur[1:]):
                if a.sum() > 100 and b.sum() > 100:
                    ious.append((a & b).sum() / (a | b).sum())
    assert moved >= 10  # most objects travel noticeably over the video
    assert np.median(ious) > 0.75 and np.min(ious) > 0.3  # smooth: consecutive masks overlap


def test_objects_leave_frame_and_occlude(stats_root):
    cfg = SynthConfig(6, 6, 30, (128, 72), 3, 4)
    w, h = cfg.size
    touching, occluded = 0, 0
    ds = DavisDataset.from_root(stats_root)
    for split in ("train", "val"):
        for i in range(6):
            _, _, objs = scene(cfg, split, i)
            video = ds.video(f"synth-{split}-{i:03d}")
            for k, obj in enumerate(objs):
                for t in range(cfg.n_frames):
                    placed = place(obj, t, cfg.size)
                    full = obj.alpha.sum() * obj.scale[t] ** 2
                    inside = 0.0 if placed is None else placed[2].sum()
                    touching += inside < 0.9 * full  # partly (or wholly) outside the frame
                    if placed is not None and k < len(objs) - 1:
                        y0, x0, a, _ = placed
                        win = (slice(y0, y0 + a.shape[0]), slice(x0, x0 + a.shape[1]))
                        labels = video.read_mask(t)
                        hidden = ((a >= 0.5) & (labels[win] > k + 1)).sum()
                        occluded += hidden > 0.05 * max(1, (a >= 0.5).sum())
    assert touching >= 20 and occluded >= 20  # frame-object counts over 12 videos x 30 frames


def test_frames_are_textured_photos(stats_root):
    v = DavisDataset.from_root(stats_root).video("synth-train-000")
    frame, mask = v.read_frame(0), v.first_mask()
    assert frame.std() > 20
    for k in v.object_ids():
        assert frame[mask == k].std() > 5  # objects carry a photo texture, not a flat colour
    assert photo("astronaut").shape == (512, 512, 3) and photo("camera").shape[2] == 3


def test_rerun_is_noop_and_foreign_dir_refused(tmp_path):
    root = generate(tmp_path / "r", **SMALL, progress=False)
    f = root / "JPEGImages" / "480p" / "synth-val-000" / "00000.jpg"
    before = f.stat().st_mtime_ns
    generate(root, **SMALL, progress=False)
    assert f.stat().st_mtime_ns == before
    generate(root, **{**SMALL, "n_frames": 3}, progress=False)  # our own root, other parameters: rebuilt
    assert len(DavisDataset.from_root(root).video("synth-val-000")) == 3
    assert not (root / "JPEGImages" / "480p" / "synth-val-000" / "00004.jpg").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "precious.txt").write_text("keep")
    with pytest.raises(UserError, match="not a synthetic root.*--force"):
        generate(other, **SMALL, progress=False)
    assert (other / "precious.txt").read_text() == "keep"
    generate(other, **SMALL, force=True, progress=False)
    assert not (other / "precious.txt").exists() and validate(other) == []


@pytest.mark.parametrize("kw, msg", [
    ({"size": (900, 480)}, "--size"), ({"size": (96, 481)}, "--size"), ({"max_objects": 5}, "--max-objects"),
    ({"n_frames": 1}, "--frames"), ({"n_train": 0, "n_val": 0}, "at least one video"),
])
def test_bad_parameters(tmp_path, kw, msg):
    with pytest.raises(UserError, match=msg):
        generate(tmp_path / "x", **{**SMALL, **kw}, progress=False)
    assert not (tmp_path / "x").exists()


def test_cli_generate_summary_and_noop(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["synth", "--out", str(out), "--train", "1", "--val", "2", "--frames", "3", "--size", "64x48", "--quiet"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "train: 1 videos, 3 frames" in text and "val: 2 videos, 6 frames" in text
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["size"] == [64, 48] and "git_sha" in run["environment"]
    assert main(argv) == 0
    assert "already complete" in capsys.readouterr().out
    assert main(["synth", "--out", str(out), "--summary"]) == 0
    assert "size 64x48" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path):
    for args, needle in ((["--size", "64by48"], "is not WxH"), (["--size", "2000x48"], "--size 2000x48"),
                         (["--summary"], "not a synthetic root")):
        r = subprocess.run([sys.executable, "-m", "davis_c", "synth", "--out", str(tmp_path / "n"), *args],
                           capture_output=True, text=True, cwd=REPO, timeout=120)
        assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr
        lines = r.stderr.strip().splitlines()
        if "WxH" in needle:  # argparse: usage, then one error line
            assert lines[-1].startswith("python -m davis_c synth: error: argument --size")
        else:
            assert len(lines) == 1 and lines[0].startswith("error: ")
