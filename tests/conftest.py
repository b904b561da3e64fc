"""Shared test fixtures. Tests that need ../shared skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("OMP_NUM_THREADS", "2")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DAVISC_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder (design notes, fixtures); skip the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not available at {SHARED}")
    return SHARED


def tensor_video(t: int = 9, h: int = 48, w: int = 64, k: int = 2, seed: int = 0):
    """An in-memory TTT video: random frames [t,3,h,w] and k static boxes -> (VideoInput, labels [t,h,w])."""
    import torch

    from ttt.tta import VideoInput

    g = torch.Generator().manual_seed(seed)
    frames = torch.randn(t, 3, h, w, generator=g)
    lab = torch.zeros(t, h, w, dtype=torch.long)
    lab[:, 8:24, 8:24] = 1
    if k > 1:
        lab[:, 28:44, 36:60] = 2
    return VideoInput(frames, lab[0], k), lab


def make_tiny_davis(root: Path, videos: dict[str, tuple[int, int, int]], split: str = "val") -> Path:
    """Write a minimal DAVIS-2017 root: {name: (n_frames, height, width)}; 2 square objects each.

    Frames are smooth random textures (deterministic per video name); masks are palette PNGs.
    """
    from PIL import Image

    from davis_c.dataset import write_mask

    for name, (n, h, w) in videos.items():
        rng = np.random.default_rng(abs(hash(name)) % 2**32)
        jdir = root / "JPEGImages" / "480p" / name
        adir = root / "Annotations" / "480p" / name
        jdir.mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 255, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
        base = np.asarray(Image.fromarray(base).resize((w, h), Image.BILINEAR))
        for t in range(n):
            img = np.roll(base, t, axis=1).copy()
            lab = np.zeros((h, w), np.uint8)
            s = max(4, min(h, w) // 5)
            y, x = h // 4, (w // 4 + 2 * t) % max(1, w - s)
            lab[y:y + s, x:x + s] = 1
            lab[h // 2:h // 2 + s, w // 2:w // 2 + s] = 2
            img[lab == 1] = (220, 30, 30)
            img[lab == 2] = (30, 30, 220)
            Image.fromarray(img).save(jdir / f"{t:05d}.jpg", quality=95)
            write_mask(adir / f"{t:05d}.png", lab)
    sets = root / "ImageSets" / "2017"
    sets.mkdir(parents=True, exist_ok=True)
    (sets / f"{split}.txt").write_text("".join(f"{v}\n" for v in videos))
    other = "train" if split == "val" else "val"
    if not (sets / f"{other}.txt").exists():
        (sets / f"{other}.txt").write_text("")
    return root


@pytest.fixture
def tiny_davis(tmp_path: Path) -> Path:
    """A 2-video DAVIS-2017 root (6 frames, 48x64 and 40x72) in a temp dir."""
    return make_tiny_davis(tmp_path / "DAVIS", {"alpha": (6, 48, 64), "beta": (6, 40, 72)})
