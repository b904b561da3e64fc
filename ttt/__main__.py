"""`python -m ttt COMMAND`: models, download, infer (and the TTT runner's commands)."""

from __future__ import annotations

import sys

from davis_c.cli_util import make_parser, run_cli
from ttt import cli_demo, cli_infer, cli_models, cli_run, cli_train

# Each command module exposes `register(subparsers)`; add new ones here.
COMMAND_MODULES = [cli_models, cli_infer, cli_run, cli_train, cli_demo]


def build_parser():
    """The `python -m ttt` parser with every registered command."""
    parser, sub = make_parser("python -m ttt", "Matching-based VOS models, inference and test-time training.")
    for mod in COMMAND_MODULES:
        mod.register(sub)
    return parser


def main(argv=None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
