"""Video tensors for TTT and pseudo-labels from the inference engine (TTT-SPEC §3.2 step 4, §3.3).

Frames are prepared exactly as the engine prepares them (normalise, shorter side resized as the zoo
spec says, zero-padded to /16). Pseudo-labels are the engine's argmax at that padded resolution with
the padding set to background, i.e. what the official code gets by writing 480p PNGs and reading them
back (no resize happens for 480p DAVIS frames).

The engines are causal: the prediction of frame t depends on frames 0..t only, provided the engine is
told the full video length (XMem's long-term usage switch and the never-memorise-the-last-frame rule
depend on it). `pseudo_labels(..., n)` therefore runs the first `n` frames only and returns exactly
the labels full-video inference would give for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from davis_c.dataset import Video
from davis_c.errors import UserError
from ttt.device import autocast
from ttt.infer import check_objects, make_engine
from ttt.preprocess import prepare_frame, prepare_mask
from ttt.tta import VideoInput
from ttt.zoo import ModelSpec


@dataclass
class PreparedVideo:
    """A video's first `len(frames)` frames on the device plus what inference needs."""

    input: VideoInput
    masks: torch.Tensor          # [K, 1, H, W] padded one-hot frame-0 masks
    pad: tuple[int, int, int, int]
    object_ids: list[int]
    total_frames: int


def prepare_video(video: Video, spec: ModelSpec, device: torch.device, n_frames: int | None = None
                  ) -> PreparedVideo:
    """Read and prepare the first `n_frames` frames (all when None) and the frame-0 masks."""
    first = video.first_mask()
    ids = video.object_ids(0)
    if not ids:
        raise UserError(f"{video.name}: the first-frame annotation has no objects")
    check_objects(video, ids)
    n = len(video) if n_frames is None else min(n_frames, len(video))
    xs, pad = [], None
    for i in range(n):
        x, pad = prepare_frame(video.read_frame(i), device, spec.resize, spec.resize_mode)
        xs.append(x)
    frames = torch.cat(xs, 0)
    masks = prepare_mask(first, ids, device, spec.resize)
    if tuple(masks.shape[-2:]) != tuple(frames.shape[-2:]):
        raise UserError(f"{video.name}: first annotation size does not match the frames")
    idx = torch.arange(1, len(ids) + 1, device=device, dtype=masks.dtype).view(-1, 1, 1, 1)
    labels0 = (masks * idx).sum(0)[0].long()
    return PreparedVideo(VideoInput(frames, labels0, len(ids), len(video)), masks, pad, ids, len(video))


def padding_mask(shape: tuple[int, int], pad: tuple[int, int, int, int], device) -> torch.Tensor:
    """True on the pixels added by `pad_divide_by`."""
    left, right, top, bottom = pad
    inside = torch.zeros(shape, dtype=torch.bool, device=device)
    inside[top:shape[0] - bottom, left:shape[1] - right] = True
    return ~inside


@torch.no_grad()
def pseudo_labels(net: torch.nn.Module, spec: ModelSpec, video: PreparedVideo, n: int,
                  amp: bool = False) -> torch.Tensor:
    """Index labels [n, H, W] (uint8, 0 = background, i = i-th object) of the first `n` frames."""
    frames = video.input.frames
    n = min(n, frames.shape[0])
    engine = make_engine(net, spec, video.total_frames)
    out = torch.empty((n, *frames.shape[-2:]), dtype=torch.uint8, device=frames.device)
    pad_px = padding_mask(tuple(frames.shape[-2:]), video.pad, frames.device)
    with autocast(frames.device, amp):
        for i in range(n):
            x = frames[i:i + 1]
            last = i == video.total_frames - 1
            prob = engine.start(x, video.masks.to(x.dtype)) if i == 0 else engine.step(x, is_last=last)
            lab = prob.float().argmax(0).to(torch.uint8)
            lab[pad_px] = 0
            out[i] = lab
    out[0] = video.input.first_labels.to(torch.uint8)
    return out
