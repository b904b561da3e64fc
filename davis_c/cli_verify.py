"""`python -m davis_c verify OUT`: re-hash a DAVIS-C build against its manifests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from davis_c.cli_util import add_command
from davis_c.errors import UserError
from davis_c.manifest import find_variants, verify_variant


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `verify` command."""
    p = add_command(sub, "verify", run, "check every file of a DAVIS-C build against its manifest.json files")
    p.add_argument("out", type=Path, help="build root (holds <strength>/<corruption>/manifest.json)")


def run(args: argparse.Namespace) -> int:
    """Handler of `verify`: 0 when every variant matches, 1 (listing the problems) otherwise."""
    variants = find_variants(args.out)
    if not variants:
        raise UserError(f"{args.out}: no <strength>/<corruption>/manifest.json found")
    bad = 0
    for v in variants:
        problems = verify_variant(v)
        bad += bool(problems)
        for p in problems:
            print(p, file=sys.stderr)
    print(f"{len(variants) - bad}/{len(variants)} variants verified")
    return 1 if bad else 0
