"""`validate()`: check a DAVIS-layout root and report every problem with the file it concerns."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from davis_c.dataset import MASK_EXT, DavisDataset, list_frames
from davis_c.errors import UserError


@dataclass(frozen=True)
class Problem:
    """One validation finding: a machine-readable `kind`, the file, and a sentence."""

    kind: str
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.kind}]"


def _check_image(path: Path) -> tuple[tuple[int, int] | None, Problem | None]:
    """Decode an image fully (catches truncation); return its (H, W) or a problem."""
    try:
        with Image.open(path) as im:
            im.load()
            return (im.size[1], im.size[0]), None
    except (OSError, SyntaxError, ValueError) as exc:
        return None, Problem("unreadable-image", path, f"unreadable or truncated image ({exc})")


def _check_mask(path: Path) -> tuple[np.ndarray | None, Problem | None]:
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("P", "L"):
                return None, Problem("rgb-mask", path, f"mask is {im.mode}, not label-indexed (palette or L)")
            return np.asarray(im), None
    except (OSError, SyntaxError, ValueError) as exc:
        return None, Problem("unreadable-mask", path, f"unreadable or truncated PNG ({exc})")


def _validate_video(ds: DavisDataset, name: str, sparse_ok: bool) -> list[Problem]:
    img_dir, ann_dir = ds.images_root / name, ds.annotations_root / name
    if not img_dir.is_dir():
        return [Problem("missing-video", img_dir, f"video '{name}' is listed but its frame directory is absent")]
    frames = list_frames(img_dir)
    if not frames:
        return [Problem("missing-video", img_dir, f"video '{name}' has no frames")]
    if not ann_dir.is_dir():
        return [Problem("missing-annotations", ann_dir, f"video '{name}' has no annotation directory")]
    problems: list[Problem] = []
    stems = {f.stem: f for f in frames}
    masks = sorted(p for p in ann_dir.glob("*" + MASK_EXT) if not p.name.startswith("."))
    for m in masks:
        if m.stem not in stems:
            problems.append(Problem("orphan-annotation", m, "annotation has no matching frame"))
    first = ann_dir / (frames[0].stem + MASK_EXT)
    if not first.exists():
        problems.append(Problem("missing-first-annotation", first, "first frame has no annotation"))
    if not sparse_ok:
        problems += [Problem("missing-annotation", ann_dir / (f.stem + MASK_EXT), "frame has no annotation")
                     for f in frames[1:] if not (ann_dir / (f.stem + MASK_EXT)).exists()]
    sizes = {}
    for f in frames:
        size, prob = _check_image(f)
        if prob:
            problems.append(prob)
        sizes[f.stem] = size
    for m in masks:
        if m.stem not in stems:
            continue
        arr, prob = _check_mask(m)
        if prob:
            problems.append(prob)
            continue
        if sizes.get(m.stem) and arr.shape != sizes[m.stem]:
            problems.append(Problem("size-mismatch", m, f"mask is {arr.shape[1]}x{arr.shape[0]} but frame "
                                    f"{stems[m.stem].name} is {sizes[m.stem][1]}x{sizes[m.stem][0]}"))
        if m == first and not np.any((arr > 0) & (arr < 255)):
            problems.append(Problem("empty-first-mask", m, "first-frame mask has no object"))
    return problems


def validate(root: str | os.PathLike, splits: Iterable[str] = ("train", "val"), *,
             resolution: str = "480p", sparse_ok: bool = True) -> list[Problem]:
    """Validate a DAVIS-2017-layout root; return all problems found (empty list = valid).

    Sparse annotation (only some frames annotated, as in DAVIS test-dev or YouTube-VOS) is allowed
    unless `sparse_ok` is False; the first frame must always be annotated and non-empty.
    """
    root = Path(root)
    if not root.is_dir():
        return [Problem("missing-root", root, "dataset root does not exist")]
    ds = DavisDataset.from_root(root, resolution=resolution)
    problems: list[Problem] = []
    for d in (ds.images_root, ds.annotations_root):
        if not d.is_dir():
            problems.append(Problem("missing-dir", d, "required directory is missing"))
    names: list[str] = []
    for split in splits:
        f = ds.split_file(split)
        if f is None or not f.is_file():
            problems.append(Problem("missing-split", f or root, f"split file for '{split}' is missing"))
            continue
        names += ds.videos(split)
    if problems:
        return problems
    for name in dict.fromkeys(names):
        problems += _validate_video(ds, name, sparse_ok)
    return problems


def validate_or_raise(root: str | os.PathLike, splits: Iterable[str] = ("val",), **kw) -> None:
    """Raise a `UserError` naming the first problem (and the count) if `root` is not valid."""
    problems = validate(root, splits, **kw)
    if problems:
        more = f" (and {len(problems) - 1} more; run `python -m davis_c validate {root}`)" if len(problems) > 1 else ""
        raise UserError(f"{problems[0]}{more}")
