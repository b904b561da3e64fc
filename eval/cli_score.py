"""`python -m eval score`: score prediction folders against DAVIS-layout ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from davis_c.cli_util import add_command, csv_list, default_workers
from davis_c.errors import UserError
from davis_c.runmeta import write_run_json
from eval.metrics import BOUND_TH
from eval.results import append_results, parse_variant, run_metadata, write_results
from eval.score import PROTOCOLS, overall, score_folder


def register(sub) -> None:
    p = add_command(sub, "score", _run, "score predicted palette PNGs (DAVIS layout) against the ground truth")
    p.add_argument("--gt", required=True, help="annotation folder (<video>/*.png) or DAVIS root (Annotations/480p)")
    p.add_argument("--pred", required=True, help="prediction folder: <video>/<frame>.png palette PNGs")
    p.add_argument("--videos", type=csv_list, default=None, help="comma-separated videos (default: all, or the split)")
    p.add_argument("--split", default="val", help="ImageSets/2017 split when --gt is a DAVIS root (default: val)")
    p.add_argument("--out", type=Path, default=None, help="per-object CSV (or .parquet) to write; run.json beside it")
    p.add_argument("--protocol", choices=PROTOCOLS, default="davis",
                   help="davis: davis2017-evaluation (default); first-appearance: vos-benchmark")
    p.add_argument("--keep-first-last", action="store_true", help="also score the first and last frames")
    p.add_argument("--ignore-void", action="store_true", help="exclude ground-truth 255 pixels (official: background)")
    p.add_argument("--bound-th", type=float, default=BOUND_TH, help="boundary tolerance (fraction of the diagonal)")
    p.add_argument("--workers", type=int, default=default_workers(), help="processes over videos")
    p.add_argument("--append", type=Path, default=None, help="also append to this long results table, keyed by:")
    for name in ("dataset", "variant", "model", "method"):
        p.add_argument(f"--{name}", default=None, help=f"{name} column for --append")
    p.add_argument("--seed", type=int, default=0, help="seed column for --append")
    p.add_argument("--checkpoint-sha256", default=None, help="metadata column for --append")


def _append_rows(args, rows: list[dict]) -> None:
    missing = [n for n in ("dataset", "variant", "model", "method") if getattr(args, n) is None]
    if missing:
        raise UserError(f"--append needs --{', --'.join(missing)}")
    strength, corruption = parse_variant(args.variant)
    meta = run_metadata(args.checkpoint_sha256)
    keyed = [{"dataset": args.dataset, "variant": args.variant, "strength": strength, "corruption": corruption,
              "model": args.model, "method": args.method, "seed": args.seed, **r, **meta} for r in rows]
    append_results(args.append, keyed)


def _run(args: argparse.Namespace) -> int:
    rows = score_folder(args.gt, args.pred, videos=args.videos, workers=args.workers, split=args.split,
                        protocol=args.protocol, skip_first_last=not args.keep_first_last,
                        ignore_void=args.ignore_void, bound_th=args.bound_th)
    df = pd.DataFrame(rows)
    if args.out is not None:
        write_results(args.out, df)
        write_run_json(args.out.parent, {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
                                         if k != "func"}, name=f"{args.out.stem}.run.json")
    if args.append is not None:
        _append_rows(args, rows)
    per_video = df.groupby("video")[["J_mean", "F_mean", "JF"]].mean() * 100
    print(per_video.round(1).to_string())
    s = overall(rows)
    print(f"\nJ&F-Mean {100 * s['JF']:.2f}  J-Mean {100 * s['J_mean']:.2f}  F-Mean {100 * s['F_mean']:.2f}  "
          f"({s['n_objects']} objects, {df['video'].nunique()} videos, protocol {args.protocol})")
    return 0
