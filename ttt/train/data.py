"""Training clips from a DAVIS-layout root: frame sampling with a max-jump curriculum and seeded augmentation.

Follows the official STCN/XMem `dataset/vos_dataset.py` (facts, re-implemented):

* frames: STCN draws a triplet start < f1 < f2 with steps of 1..max_jump+1 (`sample_triplet`); XMem
  draws each further index from the unused ones within +-`max_jump` of any earlier draw and sorts
  them (`sample_frames`); both reverse time with probability 0.5;
* objects: up to `max_objects` labels visible in the first sampled frame (STCN: a target plus an
  optional second object; XMem: up to 3), the rest become background;
* augmentation: one random horizontal flip + random-resized crop (area 0.36-1, ratio 3/4-4/3) and one
  colour jitter (brightness 0.1, contrast 0.03, saturation 0.03) per clip; per frame a random affine
  (rotation +-15 deg, shear +-10 deg) and a tiny colour jitter (0.01). Images bicubic, masks nearest.

Every random draw comes from an explicit `numpy.random.Generator` (the official code reseeds the global
RNGs); `clip_rng(seed, iteration)` makes batch `i` independent of everything before it, so a resumed
run sees the same batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from davis_c.dataset import DavisDataset
from davis_c.errors import UserError
from ttt.preprocess import IMAGENET_MEAN as MEAN
from ttt.preprocess import IMAGENET_STD as STD

# STCN train.py (stage 3): max_skip becomes skip_values[i] once `fraction[i]` of training is done.
SKIP_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.9)
SKIP_VALUES = (10, 15, 20, 25, 5)
FIRST_SKIP = 5
FILL = tuple(int(round(m * 255)) for m in MEAN)


def max_jump_at(iteration: int, total: int, fractions=SKIP_FRACTIONS, values=SKIP_VALUES,
                first: int = FIRST_SKIP) -> int:
    """The max-jump curriculum: `first`, then `values[i]` from `fractions[i] * total` iterations on."""
    jump = first
    for frac, value in zip(fractions, values):
        if iteration >= frac * total:
            jump = value
    return jump


def clip_rng(seed: int, iteration: int) -> np.random.Generator:
    """The generator of training batch `iteration` (independent streams per iteration)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(iteration,)))


def sample_frames(rng: np.random.Generator, length: int, num_frames: int, max_jump: int) -> list[int]:
    """XMem: `num_frames` distinct indices, each drawn from the unused indices within `max_jump` of any
    earlier draw; sorted, reversed with probability 0.5."""
    if length < num_frames:
        raise UserError(f"a video has {length} frames but clips need {num_frames}")
    jump = min(length, max_jump)
    idx = [int(rng.integers(length))]
    allowed: set[int] = set()
    while len(idx) < num_frames:
        allowed |= set(range(max(0, idx[-1] - jump), min(length, idx[-1] + jump + 1)))
        allowed -= set(idx)
        idx.append(int(rng.choice(sorted(allowed))))
    idx.sort()
    return idx[::-1] if rng.random() < 0.5 else idx


def sample_triplet(rng: np.random.Generator, length: int, num_frames: int, max_jump: int) -> list[int]:
    """STCN: start, start + 1..jump+1, then + 1..jump+1 again (clamped near the end as the official code,
    which can repeat a frame); reversed with probability 0.5."""
    if num_frames != 3:
        raise UserError(f"the STCN sampler draws 3 frames, not {num_frames}")
    if length < 3:
        raise UserError(f"a video has {length} frames but clips need 3")
    jump = min(length, max_jump)
    start = int(rng.integers(length - jump + 1))
    f1 = min(start + int(rng.integers(jump + 1)) + 1, length - jump, length - 1)
    f2 = min(f1 + int(rng.integers(jump + 1)) + 1, length - jump // 2, length - 1)
    idx = [start, f1, f2]
    return idx[::-1] if rng.random() < 0.5 else idx


SAMPLERS = {"stcn": sample_triplet, "xmem": sample_frames}


@dataclass(frozen=True)
class AugmentConfig:
    """Crop size and the strengths of the random geometry and colour changes."""

    crop: int = 192
    scale: tuple[float, float] = (0.36, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    degrees: float = 15.0
    shear: float = 10.0
    clip_jitter: tuple[float, float, float] = (0.1, 0.03, 0.03)
    frame_jitter: float = 0.01


def crop_matrix(rng: np.random.Generator, h: int, w: int, cfg: AugmentConfig) -> np.ndarray:
    """3x3 matrix: optional horizontal flip, then a random-resized crop of `h`x`w` onto crop x crop."""
    area = h * w
    cw, ch = w, h
    for _ in range(10):  # torchvision RandomResizedCrop.get_params
        target = area * rng.uniform(*cfg.scale)
        ar = math.exp(rng.uniform(math.log(cfg.ratio[0]), math.log(cfg.ratio[1])))
        tw, th = int(round(math.sqrt(target * ar))), int(round(math.sqrt(target / ar)))
        if 0 < tw <= w and 0 < th <= h:
            cw, ch = tw, th
            break
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    flip = np.array([[-1, 0, w - 1], [0, 1, 0], [0, 0, 1]], float) if rng.random() < 0.5 else np.eye(3)
    s = cfg.crop
    crop = np.array([[s / cw, 0, -x0 * s / cw], [0, s / ch, -y0 * s / ch], [0, 0, 1]], float)
    return crop @ flip


def affine_matrix(rng: np.random.Generator, size: int, cfg: AugmentConfig) -> np.ndarray:
    """3x3 random rotation + shear about the crop centre (torchvision RandomAffine degrees/shear)."""
    a = math.radians(rng.uniform(-cfg.degrees, cfg.degrees))
    sh = math.radians(rng.uniform(-cfg.shear, cfg.shear))
    rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    shear = np.array([[1, -math.tan(sh), 0], [0, 1, 0], [0, 0, 1]])
    c = (size - 1) / 2
    to_c = np.array([[1, 0, -c], [0, 1, -c], [0, 0, 1]], float)
    back = np.array([[1, 0, c], [0, 1, c], [0, 0, 1]], float)
    return back @ rot @ shear @ to_c


def jitter(img: np.ndarray, brightness: float, contrast: float, saturation: float) -> np.ndarray:
    """Colour jitter with given factors (1 = unchanged) on float RGB in [0, 255]."""
    img = img * brightness
    img = (img - img.mean()) * contrast + img.mean()
    grey = img @ np.array([0.299, 0.587, 0.114])
    img = (img - grey[..., None]) * saturation + grey[..., None]
    return np.clip(img, 0, 255)


def _factors(rng: np.random.Generator, amounts) -> list[float]:
    return [float(rng.uniform(1 - a, 1 + a)) for a in amounts]


def augment_clip(rng: np.random.Generator, frames: list[np.ndarray], masks: list[np.ndarray],
                 cfg: AugmentConfig) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Seeded clip augmentation -> (crop x crop float RGB frames in [0,255], uint8 label maps)."""
    h, w = frames[0].shape[:2]
    seq = crop_matrix(rng, h, w, cfg)
    clip_factors = _factors(rng, cfg.clip_jitter)
    out_f, out_m = [], []
    for img, mask in zip(frames, masks):
        m = (affine_matrix(rng, cfg.crop, cfg) @ seq)[:2]
        size = (cfg.crop, cfg.crop)
        im = cv2.warpAffine(img, m, size, flags=cv2.INTER_CUBIC, borderValue=FILL).astype(np.float32)
        lab = cv2.warpAffine(mask, m, size, flags=cv2.INTER_NEAREST, borderValue=0)
        im = jitter(im, *clip_factors)
        im = jitter(im, *_factors(rng, [cfg.frame_jitter] * 3))
        out_f.append(im.astype(np.float32))
        out_m.append(lab)
    return out_f, out_m


def pick_objects(rng: np.random.Generator, first: np.ndarray, max_objects: int, min_pixels: int = 100) -> list[int]:
    """Up to `max_objects` labels visible in the first frame (a random target first, then random others)."""
    labels = [int(v) for v in np.unique(first) if v != 0 and (first == v).sum() >= min_pixels]
    if not labels:
        return []
    order = rng.permutation(len(labels))
    return [labels[i] for i in order[:max_objects]]


@dataclass
class Batch:
    """A training batch: images [B,T,3,H,W] (normalised), first-frame masks [B,K,H,W], class maps
    [B,T,H,W] (0 = background, k = object k), selector [B,K,1,1] (0 where a slot has no object)."""

    rgb: torch.Tensor
    first_onehot: torch.Tensor
    cls_gt: torch.Tensor
    selector: torch.Tensor

    @property
    def num_objects(self) -> list[int]:
        return [int(s) for s in self.selector.flatten(1).sum(1).tolist()]


class ClipSampler:
    """Draws augmented training clips from the videos of one split, all frames kept in memory."""

    def __init__(self, dataset: DavisDataset, split: str, num_frames: int, max_objects: int,
                 augment: AugmentConfig, sampler: str = "xmem"):
        names = dataset.videos(split)
        if not names:
            raise UserError(f"{dataset.root}: split '{split}' has no videos")
        self.num_frames, self.max_objects, self.augment = num_frames, max_objects, augment
        self.sample = SAMPLERS[sampler]
        self.videos = []
        for name in names:
            v = dataset.video(name)
            if len(v) < num_frames:
                raise UserError(f"{name}: {len(v)} frames, fewer than the {num_frames} a clip needs")
            self.videos.append(([v.read_frame(i) for i in range(len(v))],
                                [v.read_mask(i) for i in range(len(v))]))

    def clip(self, rng: np.random.Generator, max_jump: int, trials: int = 20):
        """One clip: (frames, class maps with labels 1..K, K); retried when no object survives."""
        for _ in range(trials):
            frames, masks = self.videos[int(rng.integers(len(self.videos)))]
            idx = self.sample(rng, len(frames), self.num_frames, max_jump)
            imgs, labs = augment_clip(rng, [frames[i] for i in idx], [masks[i] for i in idx], self.augment)
            ids = pick_objects(rng, labs[0], self.max_objects)
            if ids:
                cls = [np.zeros_like(lab) for lab in labs]
                for k, obj in enumerate(ids, 1):
                    for c, lab in zip(cls, labs):
                        c[lab == obj] = k
                return imgs, cls, len(ids)
        raise UserError("could not sample a clip with a visible object; are the annotations empty?")

    def batch(self, rng: np.random.Generator, batch_size: int, max_jump: int) -> Batch:
        """`batch_size` clips, objects padded to `max_objects` slots."""
        clips = [self.clip(rng, max_jump) for _ in range(batch_size)]
        mean, std = np.array(MEAN, np.float32) * 255, np.array(STD, np.float32) * 255
        rgb = np.stack([np.stack([(f - mean) / std for f in c[0]]) for c in clips])
        cls = np.stack([np.stack(c[1]) for c in clips]).astype(np.int64)
        k = self.max_objects
        first = np.stack([(cls[:, 0] == i + 1) for i in range(k)], 1).astype(np.float32)
        selector = np.array([[1.0 if i < c[2] else 0.0 for i in range(k)] for c in clips], np.float32)
        return Batch(torch.from_numpy(rgb).permute(0, 1, 4, 2, 3).contiguous(), torch.from_numpy(first),
                     torch.from_numpy(cls), torch.from_numpy(selector)[:, :, None, None])
