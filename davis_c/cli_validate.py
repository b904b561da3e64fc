"""`python -m davis_c validate ROOT`."""

from __future__ import annotations

import argparse
import sys

from davis_c.cli_util import add_command, csv_list
from davis_c.validate import validate


def _cmd(args: argparse.Namespace) -> int:
    problems = validate(args.root, args.splits, resolution=args.resolution, sparse_ok=not args.dense)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"error: {len(problems)} problem(s) in {args.root}", file=sys.stderr)
        return 1
    print(f"ok: {args.root} is a valid DAVIS-layout root (splits: {', '.join(args.splits)})")
    return 0


def register(sub) -> None:
    p = add_command(sub, "validate", _cmd, "check a DAVIS-layout root and list every problem with its file")
    p.add_argument("root", help="DAVIS root (JPEGImages/480p, Annotations/480p, ImageSets/2017)")
    p.add_argument("--splits", type=csv_list, default=["train", "val"], help="splits to check (default train,val)")
    p.add_argument("--resolution", default="480p")
    p.add_argument("--dense", action="store_true", help="require an annotation for every frame")
