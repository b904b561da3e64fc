"""`python -m davis_c synth --out DIR`: the embedded synthetic DAVIS-2017-layout dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from davis_c.cli_util import add_command, default_workers
from davis_c.runmeta import write_run_json
from davis_c.synth import MAX_SIZE, generate, read_manifest, summary


def parse_size(text: str) -> tuple[int, int]:
    """argparse type for `WxH` (e.g. `427x240`)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not WxH (e.g. 427x240)") from None
    return w, h


def _cmd(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.summary:
        print(summary(out))
        return 0
    before = read_manifest(out)
    generate(out, n_train=args.train, n_val=args.val, n_frames=args.frames, size=args.size, seed=args.seed,
             max_objects=args.max_objects, force=args.force, progress=not args.quiet,
             workers=args.workers or default_workers())
    if before is not None and read_manifest(out) == before and not args.force:
        print(f"{out}: already complete (same parameters), nothing to do")
    else:
        config = {"out": str(out), "train": args.train, "val": args.val, "frames": args.frames,
                  "size": list(args.size), "seed": args.seed, "max_objects": args.max_objects}
        write_run_json(out, config)
    print(summary(out))
    return 0


def register(sub) -> None:
    p = add_command(sub, "synth", _cmd, "write the embedded synthetic DAVIS-2017-layout dataset "
                    "(scikit-image photos as textures; deterministic from --seed)")
    p.add_argument("--out", required=True, help="output DAVIS root (built in a temp dir, then renamed)")
    p.add_argument("--train", type=int, default=8, help="videos in the train split (default 8)")
    p.add_argument("--val", type=int, default=8, help="videos in the val split (default 8)")
    p.add_argument("--frames", type=int, default=40, help="frames per video (default 40)")
    p.add_argument("--size", type=parse_size, default=(427, 240),
                   help=f"frame size WxH, up to {MAX_SIZE[0]}x{MAX_SIZE[1]} (default 427x240)")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--max-objects", type=int, default=4, help="objects per video are drawn from 1..N (N<=4)")
    p.add_argument("--force", action="store_true", help="replace an existing --out that is not a synthetic root")
    p.add_argument("--summary", action="store_true",
                   help="only print the summary of an existing synthetic root at --out")
    p.add_argument("--workers", type=int, default=0, help="parallel processes (default: all CPUs this process "
                   "may use); the output does not depend on it")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
