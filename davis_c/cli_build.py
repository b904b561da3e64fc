"""`python -m davis_c build`: write the DAVIS-C variants of a DAVIS-layout dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from davis_c.cli_util import add_command, csv_list, default_workers
from davis_c.corruptions import CORRUPTION_NAMES, STRENGTHS, Options


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `build` command."""
    p = add_command(sub, "build", run, "build DAVIS-C: OUT/{low,med,high}/<corruption>/<video>/<frame>.jpg "
                    "plus a manifest.json per variant (parallel, resumable, deterministic)")
    p.add_argument("--src", required=True, type=Path, help="DAVIS-layout root (JPEGImages/480p, ImageSets/2017)")
    p.add_argument("--out", required=True, type=Path, help="output root")
    p.add_argument("--split", default="val", help="split whose videos are built (default: val)")
    p.add_argument("--videos", type=csv_list, default=[], help="comma-separated videos (default: the split's)")
    p.add_argument("--corruptions", type=csv_list, default=list(CORRUPTION_NAMES),
                   help="comma-separated corruptions (default: all 14)")
    p.add_argument("--strengths", type=csv_list, default=list(STRENGTHS), help="comma-separated: low,med,high")
    p.add_argument("--workers", type=int, default=default_workers(), help="worker processes (default: all cores)")
    p.add_argument("--seed", type=int, default=0, help="base seed of every unit's generator (default: 0)")
    p.add_argument("--colour-fix", action="store_true",
                   help="correct the official BGR-as-RGB quirks (cartoon, style colour preservation)")
    p.add_argument("--style-backend", choices=("onnx", "tfhub"), default="onnx", help="stylisation backend")
    p.add_argument("--styles", "--styles-dir", dest="styles_dir", type=Path, default=None,
                   help="folder with the style images 1.png..4.png (python -m davis_c download styles --out DIR)")
    p.add_argument("--style-model", default=None, help="tfhub backend: hub URL or local SavedModel folder")
    p.add_argument("--ffmpeg", default=None, help="ffmpeg executable (default: PATH, else imageio-ffmpeg's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Handler of `build`."""
    from davis_c.build import BuildConfig, build

    options = Options(colour_fix=args.colour_fix, style_backend=args.style_backend, styles_dir=args.styles_dir,
                      style_model=args.style_model, ffmpeg=args.ffmpeg)
    cfg = BuildConfig(src=args.src, out=args.out, split=args.split, videos=tuple(args.videos),
                      corruptions=tuple(args.corruptions), strengths=tuple(args.strengths),
                      workers=max(1, args.workers), seed=args.seed, options=options)
    summary = build(cfg, progress=not args.no_progress)
    print(f"{summary['built']} units built ({summary['frames']} frames), {summary['skipped']} already complete,"
          f" output in {args.out}")
    return 0
