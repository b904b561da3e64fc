"""Score predicted palette-PNG folders against DAVIS-layout ground truth (J&F per object).

Two protocols (see `docs/eval.md`):

* ``davis`` (default) — `davis2017-evaluation`'s semi-supervised path: objects are 1..(largest label of the
  first ground-truth frame), every evaluated frame counts for every object (both empty scores 1), 255 in
  the ground truth is background (`ignore_void=True` excludes it instead);
* ``first-appearance`` — `vos-benchmark`: objects are the labels seen in the evaluated ground-truth frames,
  each scored from the first evaluated frame where it appears in the ground truth or the prediction.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from davis_c.errors import UserError
from eval.metrics import BOUND_TH, frame_counts, object_statistics, scores_from_counts
from eval.pngio import read_labels

PROTOCOLS = ("davis", "first-appearance")
VOID = 255
SUMMARY_KEYS = ("J_mean", "J_recall", "J_decay", "F_mean", "F_recall", "F_decay", "JF", "n_frames")


@dataclass(frozen=True)
class VideoFrames:
    """Per-frame scores of one video: `J[o, t]`, `F[o, t]` (NaN where object o is not scored at frame t)."""

    video: str
    frame_names: tuple[str, ...]
    objects: tuple[int, ...]
    J: np.ndarray
    F: np.ndarray


def mask_files(directory: Path) -> list[Path]:
    """Sorted mask PNGs of a directory."""
    return sorted(p for p in directory.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith("."))


def _gt_frames(gt_dir: Path, skip_first_last: bool) -> tuple[list[Path], list[Path]]:
    """(all ground-truth PNGs, the evaluated ones)."""
    if not gt_dir.is_dir():
        raise UserError(f"{gt_dir}: ground-truth video folder not found")
    frames = mask_files(gt_dir)
    if not frames:
        raise UserError(f"{gt_dir}: no ground-truth annotations (*.png) in this folder")
    evaluated = frames[1:-1] if skip_first_last else frames
    if not evaluated:
        raise UserError(f"{gt_dir}: only {len(frames)} annotated frame(s); nothing left to score after skipping "
                        "the first and last (use keep-first-last)")
    return frames, evaluated


def check_prediction_frames(video: str, evaluated: list[Path], pred_dir: Path) -> None:
    """Fail clearly (which video, which frame) before any decoding when predictions are missing."""
    if not pred_dir.is_dir():
        raise UserError(f"video {video}: prediction folder {pred_dir} is missing")
    have = {p.name for p in pred_dir.iterdir()}
    missing = [p.name for p in evaluated if p.name not in have]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise UserError(f"video {video}: predicted frame {missing[0]} is missing in {pred_dir}{more}")


def _read_pair(gt_path: Path, pred_path: Path, video: str) -> tuple[np.ndarray, np.ndarray]:
    gt = read_labels(gt_path)
    pred = read_labels(pred_path)
    if gt.shape != pred.shape:
        raise UserError(f"video {video}, frame {gt_path.name}: prediction is {pred.shape[1]}x{pred.shape[0]} "
                        f"but the ground truth is {gt.shape[1]}x{gt.shape[0]} ({pred_path})")
    return gt, pred


def _max_label(gt: np.ndarray) -> int:
    top = int(gt.max(initial=0))
    return top if top != VOID else int(np.where(gt == VOID, 0, gt).max(initial=0))


def _frame_counts(gt, pred, objects, video, frame, ignore_void, bound_th) -> np.ndarray:
    """Counts of one frame (see `eval.metrics.frame_counts`) after checking the predicted labels."""
    top = int(pred.max(initial=0))
    if top > objects[-1]:
        raise UserError(f"video {video}, frame {frame}: predicted label {top} is not an object of the ground truth "
                        f"(objects are 1..{objects[-1]})")
    return frame_counts(gt, pred, objects, void=(gt == VOID) if ignore_void else None, bound_th=bound_th)


def _objects_davis(first_gt: np.ndarray, gt_dir: Path) -> list[int]:
    n = int(np.where(first_gt == VOID, 0, first_gt).max(initial=0))
    if n == 0:
        raise UserError(f"{gt_dir}: the first ground-truth frame has no object (is this the annotation folder?)")
    return list(range(1, n + 1))


def score_video_frames(
    gt_dir: str | os.PathLike,
    pred_dir: str | os.PathLike,
    *,
    protocol: str = "davis",
    skip_first_last: bool = True,
    ignore_void: bool = False,
    bound_th: float = BOUND_TH,
) -> VideoFrames:
    """Per-object, per-frame J and F of one video (ground-truth folder vs prediction folder)."""
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    gt_dir, pred_dir = Path(gt_dir), Path(pred_dir)
    video = gt_dir.name
    frames, evaluated = _gt_frames(gt_dir, skip_first_last)
    check_prediction_frames(video, evaluated, pred_dir)
    pairs = [_read_pair(p, pred_dir / p.name, video) for p in evaluated]
    if protocol == "davis":
        first = pairs[0][0] if evaluated[0] == frames[0] else read_labels(frames[0])
        candidates = _objects_davis(first, gt_dir)
    else:  # labels 1..(largest in the evaluated GT); those never in the GT are dropped below
        top = max(int(_max_label(gt)) for gt, _ in pairs)
        if top == 0:
            raise UserError(f"{gt_dir}: no object in the evaluated ground-truth frames")
        candidates = list(range(1, top + 1))
    counts = np.stack([_frame_counts(gt, pred, candidates, video, evaluated[t].name, ignore_void, bound_th)
                       for t, (gt, pred) in enumerate(pairs)], axis=1)  # objects x frames x 8
    keep = np.ones(len(candidates), bool) if protocol == "davis" else counts[:, :, 6].sum(axis=1) > 0
    if not keep.all():
        objects = [k for k, ok in zip(candidates, keep) if ok]
        for i in np.flatnonzero(~keep):
            t = int(np.argmax(counts[i, :, 7] > 0))
            if counts[i, t, 7] > 0:
                raise UserError(f"video {video}, frame {evaluated[t].name}: predicted label {candidates[i]} is not "
                                f"an object of the ground truth (objects are {objects})")
        counts = counts[keep]
    objects = [k for k, ok in zip(candidates, keep) if ok]
    J = np.empty(counts.shape[:2])
    F = np.empty(counts.shape[:2])
    for t in range(counts.shape[1]):
        J[:, t], F[:, t] = scores_from_counts(counts[:, t])
    if protocol == "first-appearance":
        present = (counts[:, :, 6] > 0) | (counts[:, :, 7] > 0)
        for i in range(len(objects)):  # vos-benchmark: an object counts from its first appearance (GT or prediction)
            start = int(np.argmax(present[i])) if present[i].any() else len(pairs)
            J[i, :start] = np.nan
            F[i, :start] = np.nan
    return VideoFrames(video, tuple(p.stem for p in evaluated), tuple(objects), J, F)


def summarize(frames: VideoFrames) -> list[dict]:
    """One summary dict per object: J/F Mean, Recall, Decay, JF = (J_mean + F_mean) / 2, n_frames."""
    rows = []
    for i, k in enumerate(frames.objects):
        j = frames.J[i][~np.isnan(frames.J[i])]
        f = frames.F[i][~np.isnan(frames.F[i])]
        jm, jr, jd = object_statistics(j)
        fm, fr, fd = object_statistics(f)
        rows.append({"video": frames.video, "object": int(k), "J_mean": jm, "J_recall": jr, "J_decay": jd,
                     "F_mean": fm, "F_recall": fr, "F_decay": fd, "JF": (jm + fm) / 2, "n_frames": int(j.size)})
    return rows


def score_video(
    gt_dir: str | os.PathLike,
    pred_dir: str | os.PathLike,
    *,
    protocol: str = "davis",
    skip_first_last: bool = True,
    ignore_void: bool = False,
    bound_th: float = BOUND_TH,
) -> list[dict]:
    """Per-object summary rows of one video (see `summarize`)."""
    return summarize(score_video_frames(gt_dir, pred_dir, protocol=protocol, skip_first_last=skip_first_last,
                                        ignore_void=ignore_void, bound_th=bound_th))


def resolve_gt_root(gt_root: str | os.PathLike, split: str | None = "val") -> tuple[Path, list[str] | None]:
    """The folder holding `<video>/*.png` annotations, and the split's video list for a DAVIS root.

    Accepts an annotation folder, or a DAVIS root (``Annotations/480p`` + ``ImageSets/2017/<split>.txt``).
    """
    root = Path(gt_root)
    if not root.is_dir():
        raise UserError(f"{root}: ground-truth folder not found")
    for sub in (root / "Annotations" / "480p", root / "Annotations"):
        if sub.is_dir() and any(d.is_dir() for d in sub.iterdir()):
            listing = root / "ImageSets" / "2017" / f"{split}.txt"
            names = None
            if split and listing.is_file():
                names = [v.strip() for v in listing.read_text().splitlines() if v.strip()]
            return sub, names
    return root, None


def _video_dirs(root: Path) -> list[str]:
    return sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def plan_videos(gt_root: Path, pred_root: Path, videos: list[str] | None, split_videos: list[str] | None) -> list[str]:
    """Validate the two folders and return the videos to score."""
    if not pred_root.is_dir():
        raise UserError(f"{pred_root}: prediction folder not found")
    if pred_root.resolve() == gt_root.resolve():
        raise UserError(f"{pred_root}: the prediction folder is the ground-truth folder")
    pred_videos = [v for v in _video_dirs(pred_root) if any(p.suffix == ".png" for p in (pred_root / v).iterdir())]
    if not pred_videos:
        raise UserError(f"{pred_root}: empty prediction folder (no <video>/*.png)")
    gt_videos = _video_dirs(gt_root)
    if not gt_videos:
        raise UserError(f"{gt_root}: no ground-truth video folders (expected <video>/*.png)")
    chosen = videos or split_videos or gt_videos
    for v in chosen:
        if v not in gt_videos:
            raise UserError(f"video {v}: not in the ground truth {gt_root}")
        if not (pred_root / v).is_dir():
            raise UserError(f"video {v}: missing prediction folder {pred_root / v}")
    return list(chosen)


def _score_job(job: tuple) -> list[dict]:
    gt_dir, pred_dir, kwargs = job
    return score_video(gt_dir, pred_dir, **kwargs)


def score_folder(
    gt_root: str | os.PathLike,
    pred_root: str | os.PathLike,
    videos: list[str] | None = None,
    workers: int = 1,
    *,
    split: str | None = "val",
    progress: bool = True,
    **kwargs,
) -> list[dict]:
    """Score every video of `pred_root` against `gt_root` (processes over videos); rows sorted by video."""
    gt_dir, split_videos = resolve_gt_root(gt_root, split)
    pred_root = Path(pred_root)
    names = plan_videos(gt_dir, pred_root, videos, split_videos)
    for v in names:  # cheap listing check first: fail before any work
        check_prediction_frames(v, _gt_frames(gt_dir / v, kwargs.get("skip_first_last", True))[1], pred_root / v)
    order = sorted(names, key=lambda v: -len(os.listdir(gt_dir / v)))  # longest first balances the pool
    jobs = [(gt_dir / v, pred_root / v, kwargs) for v in order]
    bar = tqdm(total=len(jobs), desc="score", unit="video", disable=not progress)
    results: dict[str, list[dict]] = {}
    if workers <= 1 or len(jobs) == 1:
        for v, job in zip(order, jobs):
            results[v] = _score_job(job)
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            for v, rows in zip(order, pool.map(_score_job, jobs)):
                results[v] = rows
                bar.update()
    bar.close()
    return [r for v in sorted(names) for r in results[v]]


def overall(rows: list[dict]) -> dict:
    """Dataset-level J-Mean, F-Mean and J&F-Mean (means over objects, as DAVIS reports them)."""
    j = float(np.mean([r["J_mean"] for r in rows]))
    f = float(np.mean([r["F_mean"] for r in rows]))
    return {"J_mean": j, "F_mean": f, "JF": (j + f) / 2, "n_objects": len(rows)}
