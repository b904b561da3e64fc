"""`python -m davis_c COMMAND`: validate, synth, download, build."""

from __future__ import annotations

import sys

from davis_c import cli_build, cli_download, cli_synth, cli_validate, cli_verify
from davis_c.cli_util import package_main

# Each command module exposes `register(subparsers)`; add new ones here.
COMMAND_MODULES = [cli_validate, cli_synth, cli_download, cli_build, cli_verify]


def main(argv=None) -> int:
    return package_main("python -m davis_c", "DAVIS-layout data: validate, synthesise, download, build DAVIS-C.", COMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main())
