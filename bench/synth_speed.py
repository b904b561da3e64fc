"""Benchmark: generating the embedded synthetic dataset vs only encoding the same files.

The reference, run in the same invocation, writes the same frames and masks again (quality-95 JPEG and
palette PNG through the same writers) without rendering anything: the floor any generator pays for its
output. The ratio says how much rendering (photo warps, compositing) costs on top of the file writing.

    .venv/bin/python bench/synth_speed.py [--train 8 --val 8 --frames 40 --size 427x240] [--workers N]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from davis_c.cli_synth import parse_size  # noqa: E402
from davis_c.cli_util import default_workers  # noqa: E402
from davis_c.dataset import DavisDataset, write_mask  # noqa: E402
from davis_c.synth import JPEG_QUALITY, generate  # noqa: E402


def _encode_only(root: Path, out: Path) -> tuple[float, int]:
    """Re-encode every frame and mask of `root` into `out`; (seconds, files) for the writes alone."""
    ds = DavisDataset.from_root(root)
    frames = []
    for v in ds.iter_videos(names=ds.videos()):
        frames += [(v.name, v.frame_names[i], v.read_frame(i), v.read_mask(i)) for i in range(len(v))]
    t0 = time.perf_counter()
    for name, stem, img, mask in frames:
        (out / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(out / name / f"{stem}.jpg", quality=JPEG_QUALITY)
        write_mask(out / name / f"{stem}.png", mask)
    return time.perf_counter() - t0, 2 * len(frames)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=8)
    ap.add_argument("--val", type=int, default=8)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--size", type=parse_size, default=(427, 240))
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "_work" / "synth")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    kw = {"n_train": args.train, "n_val": args.val, "n_frames": args.frames, "size": args.size, "progress": False}
    generate(args.work / "warm", **{**kw, "n_train": 1, "n_val": 0, "n_frames": 2})  # imports, photo cache

    def best(fn) -> float:
        times = []
        for r in range(args.repeat):
            t0 = time.perf_counter()
            fn(r)
            times.append(time.perf_counter() - t0)
        return min(times)

    t_gen1 = best(lambda r: generate(args.work / f"one-{r}", **kw, workers=1))
    t_genn = best(lambda r: generate(args.work / f"many-{r}", **kw, workers=args.workers))
    t_enc = min(_encode_only(args.work / "one-0", args.work / f"enc-{r}")[0] for r in range(args.repeat))
    n = (args.train + args.val) * args.frames
    print(f"machine: {platform.processor() or platform.machine()}, {default_workers()} usable CPUs, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"set: {args.train}+{args.val} videos x {args.frames} frames at {args.size[0]}x{args.size[1]} "
          f"({n} frames), best of {args.repeat}")
    print(f"encode-only reference : {t_enc:7.2f} s  ({1000 * t_enc / n:.1f} ms/frame)")
    print(f"generate, 1 worker    : {t_gen1:7.2f} s  ({1000 * t_gen1 / n:.1f} ms/frame)  "
          f"ratio {t_gen1 / t_enc:.2f}x reference")
    print(f"generate, {args.workers} workers   : {t_genn:7.2f} s  ratio {t_genn / t_enc:.2f}x reference")
    shutil.rmtree(args.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
