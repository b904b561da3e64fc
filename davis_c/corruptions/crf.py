"""DAVIS-C `crf_compression`: the official three-step ffmpeg pipeline over a whole video.

1. `-framerate 24 -pattern_type glob -i '<dir>/*.jpg' out.mp4` (ffmpeg's default mp4 encoder: libx264, CRF 23),
2. `-i out.mp4 -vcodec libx265 -crf {40|45|50} out2.mp4`,
3. `-i out2.mp4 -r 24 -qscale:v 2 -start_number 0 %05d.jpg`.

Driven through ffmpeg-python (argument lists, no shell) in a private temporary directory per call, reading the
*source files* as the official script did. The JPEGs ffmpeg writes are the outputs (not re-encoded). They are
renamed to the source frame names in order (DAVIS frames are already 00000.jpg, 00001.jpg, ...). x265's log is
quieted with `-x265-params log-level=error`, which does not change the encoding. Frames with an odd width or height
(which 4:2:0 H.264 cannot hold) are padded by one pixel on the right/bottom before step 1 and cropped after step 3.
Outputs are not bit-identical across ffmpeg/x264/x265 builds; the builder records the ffmpeg version.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from davis_c.corruptions.base import Corruption, Frames, Options, swap_rb
from davis_c.corruptions.ffmpeg_tools import require_ffmpeg
from davis_c.errors import UserError

CRF = {1: 0, 2: 0, 3: 40, 4: 45, 5: 50}  # official table; severities 1 and 2 are unused by DAVIS-C


def _link_inputs(paths: Sequence[Path], in_dir: Path) -> str:
    """Link the source frames into `in_dir` under sortable names; return the glob pattern over them."""
    suffixes = {p.suffix.lower() for p in paths}
    if len(suffixes) != 1:
        raise UserError(f"crf_compression needs frames of one file type, got {sorted(suffixes)} in {paths[0].parent}")
    suffix = suffixes.pop()
    for i, p in enumerate(paths):
        dest = in_dir / f"{i:06d}{suffix}"
        try:
            os.symlink(Path(p).resolve(), dest)
        except OSError:
            dest.write_bytes(Path(p).read_bytes())
    return str(in_dir / f"*{suffix}")


def _ffmpeg():
    """ffmpeg-python, imported on first use (so that importing the registry needs no ffmpeg-python)."""
    import ffmpeg

    return ffmpeg


def _run(stream, exe: str, step: str) -> None:
    ffmpeg = _ffmpeg()
    try:
        stream.overwrite_output().run(cmd=exe, capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        tail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise UserError(f"ffmpeg failed at {step}: {tail[0]}") from None


def _pipeline(pattern: str, work: Path, crf: int, size: tuple[int, int], exe: str) -> Path:
    """Run the three official steps; return the folder of extracted JPEGs."""
    ffmpeg = _ffmpeg()
    width, height = size
    odd = width % 2 or height % 2
    src = ffmpeg.input(pattern, framerate=24, pattern_type="glob")
    if odd:
        src = src.filter("pad", width + width % 2, height + height % 2, 0, 0)
    _run(src.output(str(work / "out.mp4")), exe, "step 1 (H.264 encode)")
    _run(ffmpeg.input(str(work / "out.mp4")).output(
        str(work / "out2.mp4"), vcodec="libx265", crf=crf, **{"x265-params": "log-level=error"}),
        exe, "step 2 (libx265 re-encode)")
    frames_dir = work / "frames"
    frames_dir.mkdir()
    dec = ffmpeg.input(str(work / "out2.mp4"))
    if odd:
        dec = dec.filter("crop", width, height, 0, 0, exact=1)
    _run(dec.output(str(frames_dir / "%05d.jpg"), r=24, **{"qscale:v": 2, "start_number": 0}),
         exe, "step 3 (JPEG extraction)")
    return frames_dir


def compress_files(paths: Sequence[str | os.PathLike], severity: int, options: Options | None = None,
                   size: tuple[int, int] | None = None) -> list[bytes]:
    """CRF-compress the video made of image files `paths` (in order); JPEG bytes per frame, in order.

    `size` is (width, height) of the frames (read from the first frame if omitted). Raises `UserError` when ffmpeg
    or its encoders are missing, a step fails, or the frame count out differs from the frame count in.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        return []
    exe = require_ffmpeg((options or Options()).ffmpeg)
    if size is None:
        first = cv2.imread(str(paths[0]), cv2.IMREAD_COLOR)
        if first is None:
            raise UserError(f"{paths[0]}: unreadable or truncated image")
        size = (first.shape[1], first.shape[0])
    with tempfile.TemporaryDirectory(prefix="davisc-crf-") as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        pattern = _link_inputs(paths, work / "in")
        frames_dir = _pipeline(pattern, work, CRF[severity], size, exe)
        outs = sorted(frames_dir.glob("*.jpg"))
        if len(outs) != len(paths):
            raise UserError(f"crf_compression of {paths[0].parent}: ffmpeg produced {len(outs)} frames "
                            f"for {len(paths)} input frames")
        return [p.read_bytes() for p in outs]


def crf_compression(frames: Frames, severity: int, rng: np.random.Generator | None = None,
                    options: Options | None = None) -> list[np.ndarray]:
    """In-memory variant: frames are first saved as quality-95 JPEGs (like the DAVIS sources), then compressed.

    The builder instead feeds the source JPEG files directly (`compress_files`), as the official script did.
    """
    frames = [np.asarray(f) for f in frames]
    if not frames:
        return []
    with tempfile.TemporaryDirectory(prefix="davisc-crf-src-") as tmp:
        paths = []
        for i, f in enumerate(frames):
            p = Path(tmp) / f"{i:05d}.jpg"
            if not cv2.imwrite(str(p), swap_rb(f), [cv2.IMWRITE_JPEG_QUALITY, 95]):
                raise UserError(f"cannot write temporary frame {p}")
            paths.append(p)
        blobs = compress_files(paths, severity, options, size=(frames[0].shape[1], frames[0].shape[0]))
    return [swap_rb(cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR)) for b in blobs]


CRF_CORRUPTION = Corruption(name="crf_compression", apply=crf_compression, params=CRF, random=False,
                            per_frame=False, description="H.264 then libx265 CRF re-encode of the whole video")
