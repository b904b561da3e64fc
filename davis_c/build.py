"""The DAVIS-C builder: corrupt every (strength, corruption, video) unit of a DAVIS-layout dataset.

Output: `OUT/<strength>/<corruption>/<video>/<frame>.jpg` (the released tarball layout) plus
`OUT/<strength>/<corruption>/manifest.json` per variant and `OUT/run.json` for the run.

* Parallel over units: `workers - 1` spawned processes plus this one (one OpenCV thread each); `workers=1` runs
  inline.
* Crash-safe and resumable: a unit is written into a temporary `.<video>.*.part` folder and renamed when complete;
  a re-run skips complete units, deletes stale temporaries and redoes the rest.
* Deterministic: each unit's generator derives from (seed, video, corruption, severity) (`davis_c.seeds`), so the
  bytes do not depend on the worker count or the order units run in.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import resource
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from davis_c.atomic import atomic_dir, remove_stale_parts
from davis_c.corruptions import FILE_LEVEL, STRENGTHS, Options, get
from davis_c.corruptions.base import swap_rb
from davis_c.corruptions.ffmpeg_tools import require_ffmpeg, version
from davis_c.dataset import DavisDataset
from davis_c.errors import UserError
from davis_c.manifest import MANIFEST, read_manifest, tool_versions, write_manifest
from davis_c.runmeta import write_run_json
from davis_c.seeds import derive_rng

JPEG_QUALITY = 95  # OpenCV's default, as `cv2.imwrite` used in the official script
COST_MS = {"cartoon": 150, "crf_compression": 45, "glass_blur": 38, "defocus_blur": 27, "gaussian_noise": 22,
           "contrast": 14, "brightness": 11, "saturate": 11, "pixelate": 6, "motion_blur": 6,
           "style1": 2400, "style2": 2400, "style3": 2400, "style4": 2400}
"""Rough CPU milliseconds per 854x480 frame and strength (bench/results/), to start the slow units first."""


@dataclass(frozen=True)
class Unit:
    """One (strength, corruption, video) job and the source frame files it reads."""

    strength: str
    corruption: str
    video: str
    frames: tuple[Path, ...]

    def dest(self, out: Path) -> Path:
        """Final output folder of this unit."""
        return Path(out) / self.strength / self.corruption / self.video


@dataclass(frozen=True)
class BuildConfig:
    """Resolved build settings (everything that affects the output bytes, plus workers)."""

    src: Path
    out: Path
    split: str | None = "val"
    videos: tuple[str, ...] = ()
    corruptions: tuple[str, ...] = ()
    strengths: tuple[str, ...] = ("low", "med", "high")
    workers: int = 1
    seed: int = 0
    options: Options = field(default_factory=Options)


def read_frame_rgb(path: Path) -> np.ndarray:
    """Decode a frame with `cv2.imread` (as the official script did) and return RGB uint8."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UserError(f"{path}: unreadable or truncated image")
    return swap_rb(bgr)


FRAME_CACHE_BYTES = 1 << 29
"""A worker keeps the decoded frames of its last video (if at most this big) for its next unit of that video."""
_frame_cache: dict[tuple, list[np.ndarray]] = {}


def read_video_rgb(paths: tuple[Path, ...]) -> list[np.ndarray]:
    """Decoded RGB frames of one video, read-only, shared by consecutive units of that video in this process.

    The key holds every file's mtime and size, so a source frame that changes is decoded again.
    """
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    if key in _frame_cache:
        return _frame_cache[key]
    frames = [read_frame_rgb(p) for p in paths]
    for f in frames:
        f.flags.writeable = False
    _frame_cache.clear()
    if sum(f.nbytes for f in frames) <= FRAME_CACHE_BYTES:
        _frame_cache[key] = frames
    return frames


def encode_jpeg(rgb: np.ndarray) -> bytes:
    """JPEG bytes of an RGB uint8 frame, exactly as `cv2.imwrite(path.jpg, bgr)` writes them (quality 95)."""
    ok, buf = cv2.imencode(".jpg", swap_rb(rgb), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise UserError("OpenCV could not encode a JPEG frame")
    return buf.tobytes()


def corrupt_unit(unit: Unit, seed: int, options: Options) -> list[bytes]:
    """The output JPEG bytes of one unit, one per source frame, in order."""
    corruption = get(unit.corruption)
    severity = STRENGTHS[unit.strength]
    severity = corruption.same_as.get(severity, severity)
    if unit.corruption in FILE_LEVEL:
        return FILE_LEVEL[unit.corruption](list(unit.frames), severity, options)
    frames = read_video_rgb(unit.frames)
    rng = derive_rng(seed, unit.video, unit.corruption, severity)
    outs = corruption.apply(frames, severity, rng, options)
    if len(outs) != len(frames) or any(o.shape != f.shape or o.dtype != np.uint8 for o, f in zip(outs, frames)):
        raise UserError(f"{unit.corruption} returned frames of the wrong number, shape or type for {unit.video}")
    return [encode_jpeg(o) for o in outs]


def cpu_seconds() -> float:
    """CPU seconds used by this process and its waited-for children (e.g. ffmpeg) so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_unit(unit: Unit, out: Path, seed: int, options: Options) -> tuple[Unit, int, float, float]:
    """Corrupt one unit into a temporary folder and rename it into place; (unit, frames, seconds, CPU seconds)."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    blobs = corrupt_unit(unit, seed, options)
    with atomic_dir(unit.dest(out)) as tmp:
        for src, blob in zip(unit.frames, blobs):
            (tmp / f"{src.stem}.jpg").write_bytes(blob)
    return unit, len(blobs), time.perf_counter() - t0, cpu_seconds() - c0


def _init_worker() -> None:
    cv2.setNumThreads(1)


def plan_units(cfg: BuildConfig) -> list[Unit]:
    """All units of the build (validated names), most expensive first."""
    bad = [s for s in cfg.strengths if s not in STRENGTHS]
    if bad:
        raise UserError(f"unknown strength(s) {', '.join(bad)}; choose from {', '.join(STRENGTHS)}")
    for name in cfg.corruptions:
        get(name)
    ds = DavisDataset.from_root(cfg.src)
    names = list(cfg.videos) if cfg.videos else ds.videos(cfg.split)
    if not names:
        raise UserError(f"{cfg.src}: no videos selected (split {cfg.split!r})")
    videos = [ds.video(n) for n in names]
    # a video's strengths of one corruption in a row, so workers mostly reuse its decoded frames
    units = [Unit(s, c, v.name, tuple(v.frames)) for c in cfg.corruptions for v in videos for s in cfg.strengths]
    return sorted(units, key=lambda u: -COST_MS.get(u.corruption, 20) * len(u.frames))


def variant_header(cfg: BuildConfig, strength: str, corruption: str) -> dict[str, Any]:
    """Manifest fields of one variant (everything but the file hashes)."""
    c = get(corruption)
    severity = STRENGTHS[strength]
    extra = {}
    if corruption == "crf_compression":
        extra["ffmpeg"] = version(require_ffmpeg(cfg.options.ffmpeg))
    opts: dict[str, Any] = {"colour_fix": cfg.options.colour_fix}
    if corruption.startswith("style"):
        opts.update(_style_fingerprint(cfg.options, corruption))
    return {"strength": strength, "severity": severity, "corruption": corruption,
            "parameters": _jsonable(c.params.get(c.same_as.get(severity, severity))),
            "computed_as_severity": c.same_as.get(severity, severity), "random": c.random,
            "seed": cfg.seed, "options": opts, "jpeg_quality": JPEG_QUALITY if corruption not in FILE_LEVEL else None,
            "tools": tool_versions(extra)}


def _style_fingerprint(options: Options, corruption: str) -> dict[str, Any]:
    """Backend, style image and model hashes of a style variant (raises early if the image is missing)."""
    from davis_c.corruptions.style import style_fingerprint

    return style_fingerprint(options, int(corruption.removeprefix("style")))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def check_existing(cfg: BuildConfig) -> None:
    """Refuse to resume into a variant whose manifest was built with another seed or options."""
    for s in cfg.strengths:
        for c in cfg.corruptions:
            path = Path(cfg.out) / s / c / MANIFEST
            if not path.is_file():
                continue
            try:
                old = read_manifest(path)
            except ValueError as exc:
                raise UserError(str(exc)) from None
            new = variant_header(cfg, s, c)
            for key in ("seed", "options", "parameters"):
                if old.get(key) != new[key]:
                    raise UserError(f"{path}: built with {key}={old.get(key)!r}, this run has {new[key]!r}; "
                                    "use another --out or delete that variant")


def execute(units: list[Unit], cfg: BuildConfig, progress: bool = True) -> dict[str, dict[str, float]]:
    """Run `units` (inline when workers == 1, else in a spawned process pool).

    Returns {"seconds": {corruption: wall seconds inside units}, "cpu_seconds": {corruption: CPU seconds},
    "frames": frames written}.
    """
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    frames = [0]
    bar = tqdm(total=sum(len(u.frames) for u in units), unit="frame", desc="davis-c build", disable=not progress)

    def done(result: tuple[Unit, int, float, float]) -> None:
        unit, n, dt, dc = result
        seconds[unit.corruption] = seconds.get(unit.corruption, 0.0) + dt
        cpu[unit.corruption] = cpu.get(unit.corruption, 0.0) + dc
        frames[0] += n
        bar.set_postfix_str(f"{unit.strength}/{unit.corruption}/{unit.video}", refresh=False)
        bar.update(n)

    try:
        if cfg.workers <= 1 or len(units) <= 1:
            threads = cv2.getNumThreads()
            _init_worker()
            try:
                for u in units:
                    done(run_unit(u, cfg.out, cfg.seed, cfg.options))
            finally:
                cv2.setNumThreads(threads)
        else:
            _run_pool(units, cfg, done)
    finally:
        bar.close()
        _frame_cache.clear()
    return {"seconds": seconds, "cpu_seconds": cpu, "frames": frames[0]}


class _SharedPool:
    """Units run by `workers - 1` spawned processes and by this process, which needs no start-up.

    Spawned workers take about a second to import and load numba's cache; meanwhile the main process is
    already corrupting units. Units leave one queue (most expensive first): each helper future pulls the next
    unit when it finishes, and the main process pulls one whenever it is free. Results are reported in the
    main thread only (`drain`), as they complete.
    """

    def __init__(self, units: list[Unit], cfg: BuildConfig, done):
        self.queue = deque(units)
        self.cfg, self.done = cfg, done
        self.lock = threading.Lock()
        self.futures: list[cf.Future] = []
        self.submitting = 0         # units popped for a helper whose future is not registered yet

    def next_unit(self, for_helper: bool = False) -> Unit | None:
        """Pop the next unit (None when the queue is empty); a helper's counts as in flight until registered."""
        with self.lock:
            if not self.queue:
                return None
            self.submitting += int(for_helper)
            return self.queue.popleft()

    def feed(self, pool: cf.ProcessPoolExecutor, finished: cf.Future | None = None) -> None:
        """Submit the next queued unit to `pool`; also the done-callback of every helper future.

        After a failed or cancelled helper unit nothing more is submitted: the main thread raises its error.
        """
        if finished is not None and (finished.cancelled() or finished.exception() is not None):
            return
        unit = self.next_unit(for_helper=True)
        if unit is None:
            return
        try:
            fut = pool.submit(run_unit, unit, self.cfg.out, self.cfg.seed, self.cfg.options)
        except RuntimeError:        # pool broken or shut down: leave the unit to the main thread
            with self.lock:
                self.queue.appendleft(unit)
                self.submitting -= 1
            return
        with self.lock:
            self.futures.append(fut)
            self.submitting -= 1
        fut.add_done_callback(lambda f: self.feed(pool, f))

    def _take_finished(self, block: bool) -> list[cf.Future] | None:
        """Finished helper futures, removed from the list (waiting for one when `block`); None when none are left."""
        with self.lock:
            pending, busy = list(self.futures), self.submitting
        if not pending and not busy:
            return None
        finished = [f for f in pending if f.done()]
        if block and not finished:
            if pending:
                finished = list(cf.wait(pending, return_when=cf.FIRST_COMPLETED).done)
            else:
                time.sleep(0.001)   # a callback is submitting a helper's next unit
        with self.lock:
            for f in finished:
                self.futures.remove(f)
        return finished

    def drain(self, block: bool) -> None:
        """Report finished helper units (all of them, waiting, when `block`); re-raise a helper's error."""
        while (finished := self._take_finished(block)) is not None:
            for f in finished:
                self.done(f.result())
            if not block:
                return

    def cancel(self) -> None:
        with self.lock:
            self.queue.clear()
            for f in self.futures:
                f.cancel()


def _run_pool(units: list[Unit], cfg: BuildConfig, done) -> None:
    shared = _SharedPool(units, cfg, done)
    helpers = min(cfg.workers, len(units)) - 1
    threads = cv2.getNumThreads()
    _init_worker()
    try:
        with cf.ProcessPoolExecutor(max_workers=helpers, mp_context=mp.get_context("spawn"),
                                    initializer=_init_worker) as pool:
            try:
                for _ in range(helpers):     # one unit per helper; each finished one pulls the next
                    shared.feed(pool)
                while (unit := shared.next_unit()) is not None:
                    done(run_unit(unit, cfg.out, cfg.seed, cfg.options))
                    shared.drain(block=False)
                shared.drain(block=True)
            except BaseException:
                shared.cancel()
                raise
    finally:
        cv2.setNumThreads(threads)


def build(cfg: BuildConfig, progress: bool = True) -> dict[str, Any]:
    """Build (or resume) the DAVIS-C variants described by `cfg`; returns a small summary."""
    units = plan_units(cfg)
    if "crf_compression" in cfg.corruptions:
        require_ffmpeg(cfg.options.ffmpeg)
    for c in cfg.corruptions:
        if c.startswith("style"):
            _style_fingerprint(cfg.options, c)  # missing style image: fail before any work
    check_existing(cfg)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    write_run_json(out, _jsonable(asdict(cfg)))
    for variant in {(u.strength, u.corruption) for u in units}:
        remove_stale_parts(out.joinpath(*variant))
    todo = [u for u in units if not u.dest(out).is_dir()]
    timing = execute(todo, cfg, progress=progress)
    for s in cfg.strengths:
        for c in cfg.corruptions:
            write_manifest(out / s / c, variant_header(cfg, s, c))
    return {"units": len(units), "built": len(todo), "skipped": len(units) - len(todo), **timing}
