"""Scoring prediction folders: protocol conventions on tiny hand-made videos, every bad input, the CLI,
and the fast PNG reader against PIL."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from davis_c.dataset import write_mask
from davis_c.errors import UserError
from eval.__main__ import main
from eval.pngio import read_labels
from eval.score import score_folder, score_video, score_video_frames

H, W = 24, 32


def _video(root, name, labels_per_frame):
    for t, lab in enumerate(labels_per_frame):
        write_mask(root / name / f"{t:05d}.png", lab)
    return root / name


def _square(k=1, y=4, x=4, s=8):
    lab = np.zeros((H, W), np.uint8)
    lab[y:y + s, x:x + s] = k
    return lab


@pytest.fixture
def pair(tmp_path):
    """GT: 5 frames with objects 1 and 2; predictions: a perfect copy."""
    frames = [np.maximum(_square(1, 2, 2 + t), _square(2, 12, 18)) for t in range(5)]
    gt = _video(tmp_path / "gt", "v", frames)
    pred = _video(tmp_path / "pred", "v", frames)
    return gt, pred


# ---------------------------------------------------------------- protocol conventions


def test_perfect_prediction_scores_one_and_skips_first_last(pair):
    gt, pred = pair
    rows = score_video(gt, pred)
    assert [r["object"] for r in rows] == [1, 2]
    for r in rows:
        assert r["J_mean"] == r["F_mean"] == r["JF"] == 1.0 and r["n_frames"] == 3
        assert r["J_recall"] == 1.0 and r["J_decay"] == 0.0
    assert all(r["n_frames"] == 5 for r in score_video(gt, pred, skip_first_last=False))


def test_only_evaluated_frames_count(pair):
    gt, pred = pair
    write_mask(pred / "00000.png", np.zeros((H, W), np.uint8))  # first frame: skipped, so still perfect
    write_mask(pred / "00004.png", np.zeros((H, W), np.uint8))
    assert all(r["JF"] == 1.0 for r in score_video(gt, pred))
    assert all(r["JF"] < 1.0 for r in score_video(gt, pred, skip_first_last=False))


def test_object_never_predicted_scores_zero(pair):
    gt, pred = pair
    for p in sorted(pred.iterdir()):
        lab = read_labels(p)
        lab[lab == 2] = 0
        write_mask(p, lab)
    rows = {r["object"]: r for r in score_video(gt, pred)}
    assert rows[2]["J_mean"] == 0.0 and rows[2]["F_mean"] == 0.0 and rows[2]["J_recall"] == 0.0
    assert rows[1]["JF"] == 1.0


def test_objects_come_from_first_gt_frame_and_both_empty_scores_one(tmp_path):
    # object 1 only in frames 0 and 4; object 3 appears later (not an object: first frame max label is 1)
    frames = [_square(1), np.zeros((H, W), np.uint8), _square(3), np.zeros((H, W), np.uint8), _square(1)]
    gt = _video(tmp_path / "gt", "v", frames)
    pred = _video(tmp_path / "pred", "v", [np.zeros((H, W), np.uint8)] * 5)
    rows = score_video(gt, pred)
    assert [r["object"] for r in rows] == [1]
    assert rows[0]["J_mean"] == 1.0  # absent in GT and prediction in all evaluated frames
    fa = score_video(gt, pred, protocol="first-appearance")
    assert [r["object"] for r in fa] == [3]  # vos-benchmark: labels of the evaluated GT frames
    assert fa[0]["n_frames"] == 2 and fa[0]["J_mean"] == 0.5  # frame 2 missed (0), frame 3 both empty (1)


def test_void_is_background_unless_ignore_void(tmp_path):
    gt_lab = _square(1)
    gt_lab[4:12, 12:16] = 255  # void band right of the object
    pred_lab = _square(1, s=8)
    pred_lab[4:12, 12:16] = 1  # predicted over the void band
    gt = _video(tmp_path / "gt", "v", [gt_lab] * 3)
    pred = _video(tmp_path / "pred", "v", [pred_lab] * 3)
    official = score_video(gt, pred)[0]
    assert official["J_mean"] == pytest.approx(64 / 96, abs=0)  # void counted as background
    ignored = score_video(gt, pred, ignore_void=True)[0]
    assert ignored["J_mean"] == 1.0 and ignored["F_mean"] == 1.0


def test_per_frame_scores(pair):
    gt, pred = pair
    write_mask(pred / "00002.png", np.zeros((H, W), np.uint8))
    vf = score_video_frames(gt, pred)
    assert vf.frame_names == ("00001", "00002", "00003") and vf.objects == (1, 2)
    assert np.array_equal(vf.J, [[1, 0, 1], [1, 0, 1]])


# ---------------------------------------------------------------- bad inputs (which video, which frame)


def _expect(msg, fn, *a, **k):
    with pytest.raises(UserError, match=msg):
        fn(*a, **k)


def test_missing_frame_and_video(pair, tmp_path):
    gt, pred = pair
    (pred / "00002.png").unlink()
    _expect("video v: predicted frame 00002.png is missing", score_video, gt, pred)
    _expect("video v: prediction folder .* is missing", score_video, gt, tmp_path / "nope")
    _video(tmp_path / "gt", "w", [_square()] * 3)
    _expect("video w: missing prediction folder", score_folder, tmp_path / "gt", tmp_path / "pred", progress=False)


def test_size_mismatch(pair):
    gt, pred = pair
    write_mask(pred / "00001.png", np.zeros((H, W + 2), np.uint8))
    _expect(r"video v, frame 00001.png: prediction is 34x24 but the ground truth is 32x24", score_video, gt, pred)


def test_rgb_and_garbage_png(pair):
    gt, pred = pair
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(pred / "00001.png")
    _expect("00001.png: mask is RGB, not a label-indexed", score_video, gt, pred)
    (pred / "00001.png").write_bytes(b"this is not a png")
    _expect("00001.png: not a PNG file", score_video, gt, pred)
    good = (gt / "00001.png").read_bytes()
    (pred / "00001.png").write_bytes(good[:60])
    _expect("00001.png: (truncated|corrupt)", score_video, gt, pred)


def test_label_not_in_ground_truth(pair):
    gt, pred = pair
    lab = read_labels(pred / "00003.png")
    lab[0, 0] = 3
    write_mask(pred / "00003.png", lab)
    _expect(r"video v, frame 00003.png: predicted label 3 is not an object of the ground truth \(objects are 1..2\)",
            score_video, gt, pred)
    lab[0, 0] = 255
    write_mask(pred / "00003.png", lab)
    _expect("predicted label 255", score_video, gt, pred)


def test_wrong_folders(pair, tmp_path):
    gt, pred = pair
    (tmp_path / "empty").mkdir()
    _expect("empty prediction folder", score_folder, tmp_path / "gt", tmp_path / "empty", progress=False)
    _expect("prediction folder is the ground-truth folder", score_folder, tmp_path / "gt", tmp_path / "gt",
            progress=False)
    (tmp_path / "gt2" / "v").mkdir(parents=True)
    _expect("no ground-truth annotations", score_folder, tmp_path / "gt2", tmp_path / "pred", progress=False)
    blank = _video(tmp_path / "gt3", "v", [np.zeros((H, W), np.uint8)] * 3)
    _expect("first ground-truth frame has no object", score_video, blank, pred)
    short = _video(tmp_path / "gt4", "v", [_square()] * 2)
    _expect("nothing left to score", score_video, short, pred)


def test_score_folder_parallel_equals_serial_and_davis_root(tmp_path):
    from conftest import make_tiny_davis

    root = make_tiny_davis(tmp_path / "DAVIS", {"a": (5, 24, 32), "b": (6, 20, 36), "c": (4, 24, 24)})
    pred = tmp_path / "pred"
    rng = np.random.default_rng(0)
    for v in ("a", "b", "c"):
        for p in sorted((root / "Annotations" / "480p" / v).iterdir()):
            lab = read_labels(p)
            lab[rng.random(lab.shape) < 0.05] = 0
            write_mask(pred / v / p.name, lab)
    serial = score_folder(root, pred, workers=1, progress=False)
    parallel = score_folder(root / "Annotations" / "480p", pred, workers=2, progress=False)
    assert serial == parallel and {r["video"] for r in serial} == {"a", "b", "c"}
    assert all(0 < r["JF"] < 1 for r in serial)


# ---------------------------------------------------------------- CLI


def test_cli_score_and_errors(pair, tmp_path, capsys):
    gt, pred = pair
    out = tmp_path / "res" / "scores.csv"
    assert main(["score", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"), "--out", str(out),
                 "--workers", "1"]) == 0
    assert "J&F-Mean 100.00" in capsys.readouterr().out
    assert out.is_file() and (out.parent / "scores.run.json").is_file()
    table = tmp_path / "results.csv"
    args = ["score", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"), "--workers", "1",
            "--append", str(table), "--dataset", "toy", "--model", "stcn-dy", "--method", "none", "--seed", "3"]
    assert main(args + ["--variant", "high/contrast"]) == 0
    assert main(args + ["--variant", "high/contrast"]) == 0  # same keys: replaced, not duplicated
    from eval.results import read_results

    df = read_results(table)
    assert len(df) == 2 and set(df["strength"]) == {"high"} and set(df["corruption"]) == {"contrast"}
    assert df["seed"].tolist() == [3, 3] and df["JF"].tolist() == [1.0, 1.0] and df["git_sha"].notna().all()
    assert main(args + ["--variant", "bogus"]) == 2
    capsys.readouterr()
    (pred / "00002.png").unlink()
    assert main(["score", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: video v: predicted frame 00002.png") and "\n" not in err


# ---------------------------------------------------------------- fast PNG reader == PIL


@pytest.mark.parametrize("writer", ["pil-P", "pil-P-optimize", "pil-L", "cv2-grey", "pil-P-4bit"])
def test_read_labels_equals_pil(tmp_path, writer):
    import cv2

    rng = np.random.default_rng(1)
    lab = (rng.random((37, 53)) * 3).astype(np.uint8)
    lab[10:30, 5:40] = 2
    p = tmp_path / "m.png"
    if writer.startswith("pil-P"):
        im = Image.fromarray(lab, mode="P")
        im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
        if writer == "pil-P-4bit":
            im.save(p, bits=4)
        else:
            im.save(p, optimize=writer.endswith("optimize"))
    elif writer == "pil-L":
        Image.fromarray(lab, mode="L").save(p)
    else:
        cv2.imwrite(str(p), lab * 60)  # libpng adaptive filters (Sub/Up/Average/Paeth)
    got = read_labels(p)
    assert got.flags.c_contiguous and got.dtype == np.uint8
    assert np.array_equal(got, np.asarray(Image.open(p)))
