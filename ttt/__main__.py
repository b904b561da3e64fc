"""`python -m ttt COMMAND`: models, download, infer (and the TTT runner's commands)."""

from __future__ import annotations

import sys

from davis_c.cli_util import package_main
from ttt import cli_demo, cli_infer, cli_models, cli_run, cli_train

# Each command module exposes `register(subparsers)`; add new ones here.
COMMAND_MODULES = [cli_models, cli_infer, cli_run, cli_train, cli_demo]


def main(argv=None) -> int:
    return package_main("python -m ttt", "Matching-based VOS models, inference and test-time training.", COMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main())
