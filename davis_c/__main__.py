"""`python -m davis_c COMMAND`: validate, synth, download, build."""

from __future__ import annotations

import sys

from davis_c import cli_build, cli_download, cli_synth, cli_validate, cli_verify
from davis_c.cli_util import make_parser, run_cli

# Each command module exposes `register(subparsers)`; add new ones here.
COMMAND_MODULES = [cli_validate, cli_synth, cli_download, cli_build, cli_verify]


def build_parser():
    """The `python -m davis_c` parser with every registered command."""
    parser, sub = make_parser("python -m davis_c", "DAVIS-layout data: validate, synthesise, download, build DAVIS-C.")
    for mod in COMMAND_MODULES:
        mod.register(sub)
    return parser


def main(argv=None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
