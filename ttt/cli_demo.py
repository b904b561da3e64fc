"""`python -m ttt demo`: the whole pipeline on synthetic data, its summary table, and the CI golden summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from davis_c.atomic import write_text_atomic
from davis_c.cli_util import add_command
from davis_c.errors import UserError
from davis_c.runmeta import write_run_json
from davis_c.synth import MAX_SIZE
from ttt.cli_run import _int_list
from ttt.demo import PROFILES, compare_summaries, format_summary, resolve_profile, run_demo

GOLDEN_TOLERANCE = 1e-4


def _size(text: str) -> tuple[int, int]:
    from davis_c.cli_synth import parse_size

    w, h = parse_size(text)
    if not (32 <= w <= MAX_SIZE[0] and 32 <= h <= MAX_SIZE[1]):
        raise argparse.ArgumentTypeError(f"--size {text}: width must be 32..{MAX_SIZE[0]}, height 32..{MAX_SIZE[1]}")
    return w, h


def register(sub) -> None:
    p = add_command(sub, "demo", handle, "end-to-end demo: synthetic DAVIS -> DAVIS-C -> TTT none vs tt-MCC -> "
                    "report and summary table (every stage cached and resumable)")
    p.add_argument("--out", type=Path, default=Path("reports/demo"), help="report folder (default reports/demo)")
    p.add_argument("--profile", choices=list(PROFILES), default="full",
                   help="parameter set: full (make demo) or ci (the reduced regression run)")
    p.add_argument("--work", type=Path, default=Path("data/demo"), help="cache of data and runs (default data/demo)")
    p.add_argument("--seeds", type=_int_list, help="TTT seeds (full profile: 1,5,10)")
    p.add_argument("--iterations", type=int, help="tt-MCC iterations in all (full profile: 4)")
    p.add_argument("--iters-per-step", type=int, help="tt-MCC iterations per jump step (full profile: 2); "
                   "pseudo-labels are refreshed before each step")
    p.add_argument("--videos", type=int, help="synthetic val videos")
    p.add_argument("--frames", type=int, help="frames per video")
    p.add_argument("--size", type=_size, help="frame size WxH")
    p.add_argument("--synth-seed", type=int, help="seed of the synthetic val videos (default 0)")
    p.add_argument("--lr", type=float, help="TTT learning rate (default: the zoo's)")
    p.add_argument("--workers", type=int, help="processes for the build and the TTT sweep")
    p.add_argument("--model", default="stcn-tiny-synth", help="zoo model (default stcn-tiny-synth)")
    p.add_argument("--weights", help="checkpoint file instead of the zoo's")
    p.add_argument("--no-report", action="store_true", help="skip the tables and figures")
    p.add_argument("--write-golden", type=Path, metavar="JSON", help="write the summary as the golden file")
    p.add_argument("--check-golden", type=Path, metavar="JSON", help="compare the summary with a golden file "
                   f"(tolerance {GOLDEN_TOLERANCE} on J&F fractions); exit 1 on a difference")


def _overrides(args: argparse.Namespace) -> dict:
    return {"seeds": tuple(args.seeds) if args.seeds else None, "iterations": args.iterations,
            "iters_per_step": args.iters_per_step, "videos": args.videos, "frames": args.frames, "size": args.size,
            "synth_seed": args.synth_seed, "lr": args.lr, "workers": args.workers}


def _golden(args: argparse.Namespace, summary: dict) -> int:
    if args.write_golden:
        write_text_atomic(args.write_golden, json.dumps(summary, indent=1, sort_keys=True) + "\n")
        print(f"golden summary written to {args.write_golden}")
    if args.check_golden:
        if not args.check_golden.is_file():
            raise UserError(f"{args.check_golden}: golden summary not found (write it with --write-golden)")
        problems = compare_summaries(summary, json.loads(args.check_golden.read_text()), GOLDEN_TOLERANCE)
        if problems:
            print(f"summary differs from {args.check_golden} ({len(problems)} difference(s)):")
            print("\n".join(f"  {p}" for p in problems[:20]))
            return 1
        print(f"summary matches {args.check_golden}")
    return 0


def handle(args: argparse.Namespace) -> int:
    params = resolve_profile(args.profile, _overrides(args))
    res = run_demo(args.out, params, args.work, model=args.model, weights=args.weights,
                   report=not args.no_report)
    write_run_json(args.out, {"profile": args.profile, "params": params, "work": str(args.work),
                              "model": args.model, "weights": args.weights, "out": str(args.out)},
                   extra={"stage_times": res["times"], "data": res["data"], "runs": res["runs"]})
    print()
    print(format_summary(res["summary"]["table1"]))
    print("stage times (wall s / CPU s): " + ", ".join(f"{k} {v['wall_s']:.0f}/{v['cpu_s']:.0f}"
                                                     for k, v in res["times"].items()))
    if not args.no_report:
        print(f"report: {args.out / 'README.md'}")
    return _golden(args, res["summary"])
