"""DAVIS-layout data layer shared by `davis_c`, `ttt` and `eval`.

Two layouts are read:

* a DAVIS-2017 root: ``JPEGImages/480p/<video>/%05d.jpg``, ``Annotations/480p/<video>/%05d.png``
  (label-indexed palette PNGs: 0 = background, 255 = void) and ``ImageSets/2017/{train,val}.txt``;
* a *flat* variant directory ``<dir>/<video>/*.jpg`` (DAVIS-C variants, vos-benchmark) paired with an
  annotation root ``<annotations>/<video>/*.png``.

Frames are loaded lazily, one at a time, as RGB uint8 arrays; masks as uint8 label maps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from davis_c.atomic import atomic_path
from davis_c.errors import UserError
from davis_c.palette import DAVIS_PALETTE

IMAGE_EXTS = (".jpg", ".jpeg", ".png")
MASK_EXT = ".png"
VOID_LABEL = 255
SPLITS = ("train", "val", "test-dev", "test-challenge")


def list_frames(directory: str | os.PathLike, exts: Sequence[str] = IMAGE_EXTS) -> list[Path]:
    """Sorted image files of a directory (hidden and temporary `.part` files ignored)."""
    d = Path(directory)
    return sorted(p for p in d.iterdir() if p.suffix.lower() in exts and not p.name.startswith("."))


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an HxWx3 RGB uint8 array; a clear `UserError` if it cannot be decoded."""
    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"{path}: unreadable or truncated image ({exc})") from None


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a label-indexed PNG (mode P or L) as an HxW uint8 label map.

    RGB(A) masks are rejected: their colours are not labels.
    """
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("P", "L"):
                raise UserError(f"{path}: mask is {im.mode}, not a label-indexed (palette 'P' or 'L') PNG")
            return np.asarray(im, dtype=np.uint8).copy()
    except UserError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"{path}: unreadable or truncated mask PNG ({exc})") from None


def read_palette(path: str | os.PathLike) -> bytes | None:
    """The palette bytes of a palette PNG (always 768 bytes: a short PLTE is padded with black), or None
    for a non-palette image."""
    with Image.open(path) as im:
        if im.mode != "P":
            return None
        pal = im.getpalette()
    return (bytes(pal[:768]) + bytes(768 - min(len(pal), 768))) if pal is not None else None


def write_mask(path: str | os.PathLike, labels: np.ndarray, palette: bytes | None = None) -> None:
    """Atomically write an HxW label map as a palette PNG (DAVIS palette unless one is given)."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"mask must be HxW, got shape {labels.shape}")
    if labels.dtype != np.uint8:
        if labels.min(initial=0) < 0 or labels.max(initial=0) > 255:
            raise ValueError("labels must lie in 0..255")
        labels = labels.astype(np.uint8)
    im = Image.fromarray(labels, mode="P")
    pal = palette if palette is not None else DAVIS_PALETTE
    im.putpalette(list(pal[:768]) + [0] * max(0, 768 - len(pal)))
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG")


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of an image file without decoding its pixels."""
    try:
        with Image.open(path) as im:
            w, h = im.size
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"{path}: unreadable image ({exc})") from None
    return h, w


@dataclass(frozen=True)
class Video:
    """One video: its frame files and (possibly sparse) annotations. Loads nothing until asked."""

    name: str
    frames: tuple[Path, ...]
    annotation_dir: Path | None = None

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def frame_names(self) -> list[str]:
        """Frame stems, e.g. ``['00000', '00001', ...]``; predictions are written under these names."""
        return [p.stem for p in self.frames]

    def read_frame(self, i: int) -> np.ndarray:
        """Frame `i` as HxWx3 RGB uint8."""
        return read_image(self.frames[i])

    def iter_frames(self) -> Iterator[np.ndarray]:
        """Frames one by one (never the whole video in memory)."""
        for i in range(len(self.frames)):
            yield self.read_frame(i)

    def annotation_path(self, i: int) -> Path | None:
        """The annotation file of frame `i` if it exists."""
        if self.annotation_dir is None:
            return None
        p = self.annotation_dir / (self.frames[i].stem + MASK_EXT)
        return p if p.exists() else None

    @cached_property
    def annotated_indices(self) -> tuple[int, ...]:
        """Indices of frames that have an annotation file."""
        if self.annotation_dir is None or not self.annotation_dir.is_dir():
            return ()
        stems = {p.stem for p in self.annotation_dir.glob("*" + MASK_EXT)}
        return tuple(i for i, f in enumerate(self.frames) if f.stem in stems)

    def read_mask(self, i: int) -> np.ndarray | None:
        """Label map of frame `i`, or None if frame `i` has no annotation."""
        p = self.annotation_path(i)
        return None if p is None else read_mask(p)

    def first_mask(self) -> np.ndarray:
        """The first frame's annotation (semi-supervised VOS needs it)."""
        m = self.read_mask(0)
        if m is None:
            raise UserError(f"{self.name}: no first-frame annotation "
                            f"({(self.annotation_dir or Path('?')) / (self.frames[0].stem + MASK_EXT)})")
        return m

    def object_ids(self, frame: int = 0) -> list[int]:
        """Sorted object labels present in an annotated frame (0 and void excluded)."""
        m = self.read_mask(frame)
        if m is None:
            return []
        return [int(v) for v in np.unique(m) if v not in (0, VOID_LABEL)]

    @property
    def palette(self) -> bytes:
        """The palette of the first annotation (DAVIS palette if none)."""
        p = self.annotation_path(0)
        pal = read_palette(p) if p is not None else None
        return pal if pal is not None else DAVIS_PALETTE

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the first frame."""
        return image_size(self.frames[0])


@dataclass(frozen=True)
class DavisDataset:
    """A DAVIS-layout dataset: where frames and annotations live and which videos a split holds."""

    images_root: Path
    annotations_root: Path
    root: Path | None = None
    resolution: str = "480p"
    year: str = "2017"
    _split_cache: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_root(cls, root: str | os.PathLike, resolution: str = "480p", year: str = "2017") -> DavisDataset:
        """A DAVIS-2017 root (``JPEGImages/<res>``, ``Annotations/<res>``, ``ImageSets/<year>``)."""
        root = Path(root)
        if not root.is_dir():
            raise UserError(f"{root}: DAVIS root does not exist")
        return cls(root / "JPEGImages" / resolution, root / "Annotations" / resolution, root, resolution, year)

    @classmethod
    def from_flat(cls, images_dir: str | os.PathLike, annotations_root: str | os.PathLike,
                  root: str | os.PathLike | None = None) -> DavisDataset:
        """A flat ``<images_dir>/<video>/*.jpg`` directory with annotations from ``annotations_root``.

        `root` (a DAVIS root) supplies the split files when given.
        """
        images_dir, annotations_root = Path(images_dir), Path(annotations_root)
        if not images_dir.is_dir():
            raise UserError(f"{images_dir}: image directory does not exist")
        if not annotations_root.is_dir():
            raise UserError(f"{annotations_root}: annotation directory does not exist")
        return cls(images_dir, annotations_root, Path(root) if root else None)

    def with_images(self, images_dir: str | os.PathLike) -> DavisDataset:
        """The same dataset (annotations, splits) with frames from a variant directory (e.g. DAVIS-C)."""
        images_dir = Path(images_dir)
        if not images_dir.is_dir():
            raise UserError(f"{images_dir}: image directory does not exist")
        return DavisDataset(images_dir, self.annotations_root, self.root, self.resolution, self.year)

    def split_file(self, split: str) -> Path | None:
        """Path of ``ImageSets/<year>/<split>.txt`` (None for a flat dataset without a root)."""
        return None if self.root is None else self.root / "ImageSets" / self.year / f"{split}.txt"

    def videos(self, split: str | None = None) -> list[str]:
        """Video names of `split` (from its ImageSets file), or every video directory when None."""
        if split is None:
            if not self.images_root.is_dir():
                raise UserError(f"{self.images_root}: frame directory does not exist")
            return sorted(p.name for p in self.images_root.iterdir() if p.is_dir() and not p.name.startswith("."))
        f = self.split_file(split)
        if f is None:
            raise UserError(f"split '{split}' needs a DAVIS root with ImageSets/{self.year}/{split}.txt")
        if not f.is_file():
            raise UserError(f"{f}: split file not found")
        names = [ln.strip() for ln in f.read_text().splitlines() if ln.strip()]
        return list(dict.fromkeys(names))

    def video(self, name: str) -> Video:
        """The video called `name` (frames listed, nothing decoded)."""
        d = self.images_root / name
        if not d.is_dir():
            raise UserError(f"{d}: video '{name}' has no frame directory")
        frames = tuple(list_frames(d))
        if not frames:
            raise UserError(f"{d}: video '{name}' has no frames")
        return Video(name, frames, self.annotations_root / name)

    def iter_videos(self, split: str | None = None, names: Sequence[str] | None = None) -> Iterator[Video]:
        """Videos of `split` (or the given `names`) in order."""
        for n in (names if names else self.videos(split)):
            yield self.video(n)


def open_dataset(root: str | os.PathLike, images: str | os.PathLike | None = None,
                 resolution: str = "480p") -> DavisDataset:
    """A DAVIS root, optionally with frames replaced by a flat variant directory (`images`)."""
    ds = DavisDataset.from_root(root, resolution=resolution)
    return ds.with_images(images) if images else ds
