"""Run an inference engine over videos from disk and write palette-PNG predictions (DAVIS layout)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from davis_c.atomic import atomic_dir, remove_stale_parts
from davis_c.dataset import DavisDataset, Video, write_mask
from davis_c.errors import UserError
from ttt.device import autocast
from ttt.engines import ENGINES
from ttt.preprocess import prepare_frame, prepare_mask, unpad
from ttt.zoo import ModelSpec


@dataclass
class VideoResult:
    """What `infer_video` did: frames written, seconds spent, and (optionally) per-frame probabilities."""

    name: str
    n_frames: int
    seconds: float
    object_ids: list[int]
    probs: list[torch.Tensor] | None = field(default=None, repr=False)


def engine_config(spec: ModelSpec, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The spec's engine defaults with `overrides` applied (unknown keys are an error)."""
    cfg = dict(spec.engine)
    for k, v in (overrides or {}).items():
        if k not in cfg:
            raise UserError(f"unknown engine option '{k}' for {spec.arch}; known: {', '.join(cfg)}")
        cfg[k] = v
    return cfg


def make_engine(net: nn.Module, spec: ModelSpec, n_frames: int, overrides: dict[str, Any] | None = None):
    """A fresh per-video engine for `net`."""
    return ENGINES[spec.arch](net, n_frames=n_frames, **engine_config(spec, overrides))


def check_objects(video: Video, ids: list[int]) -> None:
    """Fail clearly on YouTube-style sparse annotations that introduce objects after frame 0."""
    annotated = video.annotated_indices
    if len(annotated) >= len(video):
        return  # dense ground truth (DAVIS): only the first frame is used, as the official code does
    for i in annotated:
        if i == 0:
            continue
        new = sorted(set(video.object_ids(i)) - set(ids))
        if new:
            raise UserError(f"{video.name}: objects {new} first appear in frame {video.frame_names[i]}; "
                            f"objects entering after the first frame are not supported yet")


def labels_from_prob(prob: torch.Tensor, pad, size: tuple[int, int], lut: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
    """Unpad, bilinear-resize to `size`, argmax over K+1, map indices to label values."""
    p = unpad(prob, pad).unsqueeze(0).float()
    if tuple(p.shape[-2:]) != tuple(size):
        p = F.interpolate(p, size=size, mode="bilinear", align_corners=False)
    idx = torch.argmax(p[0], dim=0)
    return lut[idx].cpu().numpy().astype(np.uint8), p[0]


def _first_masks(video: Video, spec: ModelSpec, device: torch.device):
    first = video.first_mask()
    size = video.size
    if tuple(first.shape) != tuple(size):
        raise UserError(f"{video.name}: first annotation is {first.shape[1]}x{first.shape[0]} but the frames "
                        f"are {size[1]}x{size[0]}")
    ids = video.object_ids(0)
    if not ids:
        raise UserError(f"{video.name}: the first-frame annotation has no objects")
    check_objects(video, ids)
    return ids, prepare_mask(first, ids, device, spec.resize), size


def infer_video(net: nn.Module, spec: ModelSpec, video: Video, out_dir: str | Path, *,
                device: torch.device, amp: bool = False, engine_overrides: dict[str, Any] | None = None,
                return_probs: bool = False) -> VideoResult:
    """Segment `video` from its first-frame masks; write `<out_dir>/<frame>.png` for every frame.

    Frames are read one at a time; the whole directory appears atomically when the video is done.
    Labels are the original first-frame label values; the palette is the first annotation's.
    `return_probs` also returns the per-frame probabilities [K+1, H, W] (CPU, at output size).
    """
    ids, masks, size = _first_masks(video, spec, device)
    lut = torch.tensor([0] + ids, dtype=torch.uint8, device=device)
    engine = make_engine(net, spec, len(video), engine_overrides)
    palette, names, probs = video.palette, video.frame_names, [] if return_probs else None
    t0 = time.perf_counter()
    with atomic_dir(out_dir) as tmp, autocast(device, amp):
        for i in range(len(video)):
            frame = video.read_frame(i)
            if frame.shape[:2] != tuple(size):
                raise UserError(f"{video.frames[i]}: frame is {frame.shape[1]}x{frame.shape[0]}, "
                                f"the first frame is {size[1]}x{size[0]}")
            x, pad = prepare_frame(frame, device, spec.resize, spec.resize_mode)
            last = i == len(video) - 1
            prob = engine.start(x, masks.to(x.dtype)) if i == 0 else engine.step(x, is_last=last)
            labels, p = labels_from_prob(prob, pad, size, lut)
            write_mask(tmp / f"{names[i]}.png", labels, palette)
            if probs is not None:
                probs.append(p.cpu())
    return VideoResult(video.name, len(video), time.perf_counter() - t0, ids, probs)


def is_done(video: Video, out_dir: Path) -> bool:
    """True when `out_dir` holds a prediction for every frame of `video`."""
    return out_dir.is_dir() and all((out_dir / f"{n}.png").is_file() for n in video.frame_names)


def infer_dataset(net: nn.Module, spec: ModelSpec, dataset: DavisDataset, out: str | Path, *,
                  videos: list[str], device: torch.device, amp: bool = False,
                  engine_overrides: dict[str, Any] | None = None, resume: bool = True) -> list[VideoResult]:
    """`infer_video` for each named video into `out/<video>/` (finished videos skipped when `resume`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(out)
    results = []
    for name in tqdm(videos, desc=f"infer {spec.name}", unit="video"):
        video = dataset.video(name)
        if resume and is_done(video, out / name):
            continue
        results.append(infer_video(net, spec, video, out / name, device=device, amp=amp,
                                   engine_overrides=engine_overrides))
    return results
