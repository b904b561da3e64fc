"""`python -m eval COMMAND`: score, report, check-published."""

from __future__ import annotations

import sys

from davis_c.cli_util import make_parser, run_cli
from eval import cli_published, cli_report, cli_score

# Each command module exposes `register(subparsers)`.
COMMAND_MODULES = [cli_score, cli_report, cli_published]


def build_parser():
    """The `python -m eval` parser with every registered command."""
    parser, sub = make_parser("python -m eval", "DAVIS J&F scoring, results tables, reports, published-number check.")
    for mod in COMMAND_MODULES:
        mod.register(sub)
    return parser


def main(argv=None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
