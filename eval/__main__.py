"""`python -m eval COMMAND`: score, report, check-published."""

from __future__ import annotations

import sys

from davis_c.cli_util import package_main
from eval import cli_published, cli_report, cli_score

# Each command module exposes `register(subparsers)`.
COMMAND_MODULES = [cli_score, cli_report, cli_published]


def main(argv=None) -> int:
    return package_main("python -m eval", "DAVIS J&F scoring, results tables, reports, published-number check.", COMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main())
