"""`python -m ttt models` (list the zoo) and `python -m ttt download NAME`."""

from __future__ import annotations

import argparse

from davis_c.cli_util import add_command
from ttt.zoo import MODELS, default_path, expected_sha256


def cmd_models(args: argparse.Namespace) -> int:
    rows = [("name", "paper name", "arch", "training data", "ttt lr", "cached", "path", "sha256")]
    for spec in MODELS.values():
        path = default_path(spec)
        cached = "yes" if path.is_file() else "no"
        sha = expected_sha256(spec, path) or "-"
        rows.append((spec.name, spec.paper_name, spec.arch, spec.training_data, f"{spec.ttt_lr:g}", cached,
                     str(path), sha if args.long else sha[:12]))
    if args.names:
        print("\n".join(r[0] for r in rows[1:]))
        return 0
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from ttt.download import download

    for name in args.name:
        print(download(name))
    return 0


def register(sub) -> None:
    p = add_command(sub, "models", cmd_models, "List the model zoo and which checkpoints are cached.")
    p.add_argument("--long", action="store_true", help="print full sha256 hashes")
    p.add_argument("--names", action="store_true", help="print only the model names")
    p = add_command(sub, "download", cmd_download, "Download checkpoints into $TORCH_HOME/hub/checkpoints.")
    p.add_argument("name", nargs="+", help="zoo name(s), see `python -m ttt models`")
