"""`python -m eval report`: tables and figures from a results table."""

from __future__ import annotations

import argparse
from pathlib import Path

from davis_c.cli_util import add_command
from davis_c.errors import UserError
from davis_c.runmeta import write_run_json


def register(sub) -> None:
    p = add_command(sub, "report", _run, "tables (Markdown, LaTeX, CSV) and figures (PNG, PDF) from a results table")
    p.add_argument("--results", type=Path, required=True, help="results table (CSV or parquet)")
    p.add_argument("--out", type=Path, required=True, help="report folder, e.g. reports/<name>/")
    p.add_argument("--iterations", type=Path, default=None, help="per-iteration results table (Figure 7)")
    p.add_argument("--frames-gt", type=Path, default=None, help="Figure 16: ground-truth folder of one video")
    p.add_argument("--frames-before", type=Path, default=None, help="Figure 16: predictions before TTT")
    p.add_argument("--frames-after", type=Path, default=None, help="Figure 16: predictions after TTT")
    p.add_argument("--title", default=None, help="title of the README.md index")


def _run(args: argparse.Namespace) -> int:
    from eval.report import FramesSpec, build_report  # matplotlib: imported only for this command

    trio = (args.frames_gt, args.frames_before, args.frames_after)
    if any(trio) and not all(trio):
        raise UserError("Figure 16 needs all of --frames-gt, --frames-before and --frames-after")
    frames = FramesSpec(*trio) if all(trio) else None
    figs = build_report(args.results, args.out, iterations=args.iterations, frames=frames, title=args.title)
    write_run_json(args.out, {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "func"})
    n = sum(len(v) for v in figs.values())
    print(f"report written to {args.out / 'README.md'} ({n} figure files)")
    return 0
