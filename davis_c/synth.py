"""Embedded synthetic DAVIS-2017-layout dataset built from scikit-image's bundled photographs.

Each video: a photo background panned and zoomed slowly like a hand-held camera, and 1..`max_objects`
objects cut from other photos with varied outlines (ellipse, rounded box, star, random blob), each on its own
smooth trajectory (translation, rotation, scale), composited in a fixed z-order (so objects occlude one
another) and free to leave the frame partly. Labels are 1..K in z-order; every object is visible in frame 0.

Deterministic: video `i` of split `s` draws from ``SeedSequence(seed, spawn_key=(s, i))``, so the
train and val streams are disjoint and the same arguments give byte-identical files.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from davis_c.atomic import atomic_dir, write_text_atomic
from davis_c.dataset import write_mask
from davis_c.errors import UserError

GENERATOR_VERSION = 1
SPLIT_CODES = {"train": 0, "val": 1}
JPEG_QUALITY = 95
MANIFEST = "synth.json"
MAX_SIZE = (854, 480)
# Photographs bundled with scikit-image (no network needed): colour ones serve as backgrounds and
# object textures; grey ones are tinted and used as object textures only.
BACKGROUNDS = ("coffee", "rocket", "astronaut", "chelsea", "stereo_motorcycle", "hubble_deep_field", "cat")
TEXTURES = ("astronaut", "chelsea", "cat", "coffee", "rocket", "retina", "immunohistochemistry",
            "stereo_motorcycle", "brick", "gravel", "grass", "camera", "coins", "moon")
SHAPES = ("ellipse", "rounded_box", "star", "blob")


@dataclass(frozen=True)
class SynthConfig:
    """Everything that determines the generated files."""

    n_train: int = 8
    n_val: int = 8
    n_frames: int = 40
    size: tuple[int, int] = (427, 240)  # (W, H)
    seed: int = 0
    max_objects: int = 4

    def check(self) -> None:
        """Raise `UserError` for out-of-range parameters."""
        w, h = self.size
        if not (32 <= w <= MAX_SIZE[0] and 32 <= h <= MAX_SIZE[1]):
            raise UserError(f"--size {w}x{h}: width must be 32..{MAX_SIZE[0]} and height 32..{MAX_SIZE[1]}")
        if not 1 <= self.max_objects <= 4:
            raise UserError(f"--max-objects {self.max_objects}: must be 1..4")
        if self.n_frames < 2:
            raise UserError(f"--frames {self.n_frames}: need at least 2 frames")
        if self.n_train < 0 or self.n_val < 0 or self.n_train + self.n_val == 0:
            raise UserError("need at least one video (--train/--val must be >= 0, not both 0)")
        if self.seed < 0:
            raise UserError(f"--seed {self.seed}: must be >= 0")


@cache
def photo(name: str) -> np.ndarray:
    """A bundled scikit-image photograph as HxWx3 uint8 RGB (grey ones replicated to 3 channels)."""
    import skimage.data

    img = skimage.data.stereo_motorcycle()[0] if name == "stereo_motorcycle" else getattr(skimage.data, name)()
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3].astype(np.uint8))
    img.setflags(write=False)
    return img


# ---------------------------------------------------------------- shapes and textures


def _radial_profile(shape: str, rng: np.random.Generator, theta: np.ndarray) -> np.ndarray:
    """Boundary radius r(theta) of a star-shaped outline, max about 1."""
    if shape == "ellipse":
        a, b = 1.0, rng.uniform(0.45, 0.95)
        r = a * b / np.sqrt((b * np.cos(theta)) ** 2 + (a * np.sin(theta)) ** 2)
    elif shape == "rounded_box":
        p, b = rng.uniform(3.0, 6.0), rng.uniform(0.5, 0.95)
        r = (np.abs(np.cos(theta)) ** p + (np.abs(np.sin(theta)) / b) ** p) ** (-1.0 / p)
    elif shape == "star":
        k, depth = int(rng.integers(4, 8)), rng.uniform(0.2, 0.4)
        r = 1.0 - depth * (0.5 + 0.5 * np.cos(k * theta))
    else:  # blob: a few low-frequency harmonics
        r = np.ones_like(theta)
        for k in range(2, 6):
            r += rng.uniform(0.0, 0.22 / k * 2) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    return r / r.max()


def _shape_alpha(shape: str, rng: np.random.Generator, radius: float) -> np.ndarray:
    """Anti-aliased float alpha (0..1) of an outline of max radius `radius`, centred in a square canvas."""
    n = 2 * int(np.ceil(radius)) + 4
    c = (n - 1) / 2.0
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    dx, dy = xx - c, yy - c
    theta = np.arctan2(dy, dx)
    rho = np.hypot(dx, dy)
    # Evaluate the profile on a fine angle grid and look it up (same rng draws for every pixel).
    grid = np.linspace(-np.pi, np.pi, 2049)
    prof = _radial_profile(shape, rng, grid) * radius
    edge = np.interp(theta, grid, prof)
    return np.clip(edge - rho + 0.5, 0.0, 1.0).astype(np.float32)


def _texture(name: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """An n x n crop of a photo at a random scale, tinted when the photo is grey, contrast-boosted."""
    src = photo(name)
    h, w = src.shape[:2]
    crop = int(min(h, w) * rng.uniform(0.35, 0.9))
    y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    tex = cv2.resize(np.ascontiguousarray(src[y:y + crop, x:x + crop]), (n, n), interpolation=cv2.INTER_AREA)
    tex = tex.astype(np.float32)
    if np.ptp(src[::8, ::8].astype(np.int16), axis=2).max() == 0:  # grey photo: give it a colour
        tint = rng.uniform(0.35, 1.0, size=3).astype(np.float32)
        tint /= tint.max()
        tex = tex * tint
    mean = tex.mean(axis=(0, 1), keepdims=True)
    tex = (tex - mean) * rng.uniform(1.0, 1.3) + mean
    return np.clip(tex, 0, 255).astype(np.float32)


# ---------------------------------------------------------------- motion


def _smooth(rng: np.random.Generator, t: np.ndarray, amp: float, min_period: float, max_period: float) -> np.ndarray:
    """A bounded smooth signal: sum of two sinusoids with random periods, total amplitude <= amp."""
    out = np.zeros_like(t, dtype=np.float64)
    weights = rng.dirichlet((2.0, 1.0))
    for wgt in weights:
        period = rng.uniform(min_period, max_period)
        out += wgt * amp * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    return out


@dataclass
class SceneObject:
    """One object of a scene: its canvas (alpha, texture) and per-frame pose."""

    alpha: np.ndarray  # canvas alpha (float32)
    texture: np.ndarray  # canvas RGB (float32)
    cx: np.ndarray  # per-frame centre x (pixels)
    cy: np.ndarray
    angle: np.ndarray  # degrees
    scale: np.ndarray


def _make_object(rng: np.random.Generator, bg_name: str, size: tuple[int, int], n_frames: int,
                 area_frac: float) -> SceneObject:
    w, h = size
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    shape_seed = int(rng.integers(2**63))  # the same outline at unit size (to measure) and at final size
    unit = _shape_alpha(shape, np.random.default_rng(shape_seed), 64.0)
    unit_area = float(unit.sum()) / 64.0**2
    radius = float(np.sqrt(area_frac * w * h / unit_area))
    alpha = _shape_alpha(shape, np.random.default_rng(shape_seed), radius)
    choices = [t for t in TEXTURES if t != bg_name]
    texture = _texture(choices[int(rng.integers(len(choices)))], rng, alpha.shape[0])
    t = np.arange(n_frames, dtype=np.float64)
    bx, by = rng.uniform(0.2, 0.8) * w, rng.uniform(0.25, 0.75) * h
    # Amplitudes let the centre reach just past the border, so objects partly leave the frame.
    ax = rng.uniform(0.3, 1.0) * (min(bx, w - bx) + 0.1 * w)
    ay = rng.uniform(0.2, 0.8) * (min(by, h - by) + 0.1 * h)
    cx = bx + _smooth(rng, t, ax, 40, 140)
    cy = by + _smooth(rng, t, ay, 40, 140)
    angle = rng.uniform(0, 360) + rng.uniform(-2.0, 2.0) * t + _smooth(rng, t, 15.0, 30, 90)
    scale = 1.0 + _smooth(rng, t, rng.uniform(0.05, 0.2), 40, 120)
    return SceneObject(alpha, texture, cx, cy, angle, scale)


def place(obj: SceneObject, i: int, size: tuple[int, int]):
    """Object `obj` warped into frame `i`, cropped to its bounding box.

    Returns ``(y0, x0, alpha, texture)`` (alpha hxw float32, texture hxwx3) or None when the object
    lies wholly outside the frame.
    """
    n = obj.alpha.shape[0]
    c = (n - 1) / 2.0
    m = cv2.getRotationMatrix2D((c, c), float(obj.angle[i]), float(obj.scale[i]))
    m[0, 2] += obj.cx[i] - c
    m[1, 2] += obj.cy[i] - c
    corners = m @ np.array([[0, 0, 1], [n, 0, 1], [0, n, 1], [n, n, 1]], np.float64).T
    x0, y0 = max(0, int(np.floor(corners[0].min()))), max(0, int(np.floor(corners[1].min())))
    x1, y1 = min(size[0], int(np.ceil(corners[0].max())) + 1), min(size[1], int(np.ceil(corners[1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    m[0, 2] -= x0
    m[1, 2] -= y0
    box = (x1 - x0, y1 - y0)
    alpha = cv2.warpAffine(obj.alpha, m, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    tex = cv2.warpAffine(obj.texture, m, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return y0, x0, alpha, tex


def _background(rng: np.random.Generator, name: str, size: tuple[int, int], n_frames: int):
    """Per-frame background renderer: the photo seen through a slowly panning, zooming camera."""
    w, h = size
    src = photo(name)
    base = max(w * 1.35 / src.shape[1], h * 1.35 / src.shape[0])  # photo scaled to 1.35x the frame
    src = cv2.resize(src, (round(src.shape[1] * base), round(src.shape[0] * base)),
                     interpolation=cv2.INTER_AREA if base < 1 else cv2.INTER_CUBIC).astype(np.float32)
    if rng.integers(2):
        src = np.ascontiguousarray(src[:, ::-1])
    sh, sw = src.shape[:2]
    t = np.arange(n_frames, dtype=np.float64)
    px = _smooth(rng, t, min(0.35 * (sw - w), 0.15 * w), 60, 200)  # slow pan: about 1 px per frame
    py = _smooth(rng, t, min(0.25 * (sh - h), 0.1 * h), 60, 200)
    zoom = 1.0 + _smooth(rng, t, 0.04, 60, 160)
    light = 1.0 + _smooth(rng, t, 0.05, 40, 120)

    def render(i: int) -> np.ndarray:
        s = zoom[i]  # frame = s * (src - src_centre) + frame_centre + pan
        m = np.array([[s, 0, w / 2 + px[i] - s * sw / 2], [0, s, h / 2 + py[i] - s * sh / 2]])
        return cv2.warpAffine(src, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT) * light[i]

    return render


# ---------------------------------------------------------------- videos


def _visible_first(objs: list[SceneObject], size: tuple[int, int]) -> list[float]:
    """Fraction of each object's own area that is visible (not occluded, inside) in frame 0."""
    w, h = size
    cover = np.zeros((h, w), np.float32)
    fracs = []
    for obj in reversed(objs):  # front to back
        own = float(obj.alpha.sum() * obj.scale[0] ** 2)
        placed = place(obj, 0, size)
        if placed is None:
            fracs.append(0.0)
            continue
        y0, x0, a, _ = placed
        win = cover[y0:y0 + a.shape[0], x0:x0 + a.shape[1]]
        fracs.append(float((a * (1.0 - win)).sum()) / max(own, 1e-6))
        np.maximum(win, a, out=win)
    return fracs[::-1]


def _sample_objects(rng: np.random.Generator, bg_name: str, cfg: SynthConfig) -> list[SceneObject]:
    """1..max_objects objects, re-drawn until each shows >= 40% of itself in frame 0 (fewer if needed)."""
    k = int(rng.integers(1, cfg.max_objects + 1))
    shrink = min(1.0, 2.0 / (k + 1))
    while True:
        for _ in range(30):
            objs = [_make_object(rng, bg_name, cfg.size, cfg.n_frames, rng.uniform(0.08, 0.3) * shrink)
                    for _ in range(k)]
            if min(_visible_first(objs, cfg.size)) >= 0.4:
                return objs
        k -= 1  # crowded: try with one object fewer (k = 1 always succeeds quickly)


def scene(cfg: SynthConfig, split: str, index: int):
    """The random draws of one video: ``(background photo name, background renderer, objects)``.

    Depends only on ``(cfg.seed, split, index)`` and the size/length/object settings, never on how
    many other videos are generated.
    """
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(SPLIT_CODES[split], index)))
    bg_name = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    background = _background(rng, bg_name, cfg.size, cfg.n_frames)
    return bg_name, background, _sample_objects(rng, bg_name, cfg)


def render_video(cfg: SynthConfig, split: str, index: int, out_images: Path, out_masks: Path) -> dict:
    """Write one video's JPEG frames and palette PNG masks; return its summary record."""
    bg_name, background, objs = scene(cfg, split, index)
    out_images.mkdir(parents=True, exist_ok=True)
    out_masks.mkdir(parents=True, exist_ok=True)
    w, h = cfg.size
    for i in range(cfg.n_frames):
        img = background(i)
        labels = np.zeros((h, w), np.uint8)
        for k, obj in enumerate(objs, start=1):  # back to front
            placed = place(obj, i, cfg.size)
            if placed is None:
                continue
            y0, x0, a, tex = placed
            win = (slice(y0, y0 + a.shape[0]), slice(x0, x0 + a.shape[1]))
            img[win] += (tex - img[win]) * a[:, :, None]
            labels[win][a >= 0.5] = k
        frame = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        Image.fromarray(frame).save(out_images / f"{i:05d}.jpg", quality=JPEG_QUALITY)
        write_mask(out_masks / f"{i:05d}.png", labels)
    return {"background": bg_name, "objects": len(objs)}


def video_name(split: str, index: int) -> str:
    """`synth-<split>-NNN`."""
    return f"synth-{split}-{index:03d}"


def _manifest(cfg: SynthConfig, videos: dict) -> dict:
    return {"generator": "davis_c.synth", "version": GENERATOR_VERSION, "config": asdict(cfg), "videos": videos}


def read_manifest(root: str | os.PathLike) -> dict | None:
    """The `synth.json` of a generated root, or None when there is none (or it is unreadable)."""
    p = Path(root) / MANIFEST
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def _is_same(root: Path, cfg: SynthConfig) -> bool:
    m = read_manifest(root)
    return m is not None and m.get("version") == GENERATOR_VERSION and m.get("config") == json.loads(
        json.dumps(asdict(cfg)))


def generate(out: str | os.PathLike, *, n_train: int = 8, n_val: int = 8, n_frames: int = 40,
             size: tuple[int, int] = (427, 240), seed: int = 0, max_objects: int = 4,
             force: bool = False, progress: bool = True) -> Path:
    """Build the synthetic DAVIS-2017 root at `out` (atomically) and return it.

    A complete root generated with the same parameters is left as is (no-op). An existing `out` that
    is not such a root is refused unless `force` (it is then replaced).
    """
    cfg = SynthConfig(n_train, n_val, n_frames, tuple(size), seed, max_objects)
    cfg.check()
    out = Path(out)
    if out.exists():
        if _is_same(out, cfg):
            return out
        if not force and (not out.is_dir() or any(out.iterdir())):
            raise UserError(f"{out}: exists and is not a synthetic root made with these parameters "
                            "(choose another --out or pass --force to replace it)")
    jobs = [(s, i) for s, n in (("train", cfg.n_train), ("val", cfg.n_val)) for i in range(n)]
    videos: dict[str, dict] = {}
    with atomic_dir(out) as tmp:
        for split, i in tqdm(jobs, desc="synth videos", unit="video", disable=not progress):
            name = video_name(split, i)
            rec = render_video(cfg, split, i, tmp / "JPEGImages" / "480p" / name, tmp / "Annotations" / "480p" / name)
            videos[name] = {"split": split, **rec}
        sets = tmp / "ImageSets" / "2017"
        for split in SPLIT_CODES:
            names = [n for n, v in videos.items() if v["split"] == split]
            write_text_atomic(sets / f"{split}.txt", "".join(n + "\n" for n in names))
        write_text_atomic(tmp / MANIFEST, json.dumps(_manifest(cfg, videos), indent=2, sort_keys=True) + "\n")
    return out


def summary(root: str | os.PathLike) -> str:
    """A few lines describing a generated root: videos per split, frames, objects."""
    m = read_manifest(root)
    if m is None:
        raise UserError(f"{Path(root) / MANIFEST}: not a synthetic root (no readable {MANIFEST})")
    cfg = m["config"]
    lines = [f"synthetic DAVIS-2017 root: {root}",
             f"  size {cfg['size'][0]}x{cfg['size'][1]}, {cfg['n_frames']} frames per video, seed {cfg['seed']}"]
    for split in SPLIT_CODES:
        objs = [v["objects"] for v in m["videos"].values() if v["split"] == split]
        if objs:
            hist = ", ".join(f"{k} obj: {objs.count(k)}" for k in sorted(set(objs)))
            lines.append(f"  {split}: {len(objs)} videos, {len(objs) * cfg['n_frames']} frames, "
                         f"{sum(objs)} objects ({hist})")
        else:
            lines.append(f"  {split}: 0 videos")
    return "\n".join(lines)
