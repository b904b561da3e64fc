"""Small CLI convention shared by `python -m davis_c`, `python -m ttt` and `python -m eval`.

Each package builds an `argparse` parser with sub-commands whose handler is stored as `func`;
`run_cli` parses, dispatches and turns `UserError` (and a few OS errors users cause) into a one-line
message on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from davis_c.errors import UserError

Handler = Callable[[argparse.Namespace], int | None]


def make_parser(prog: str, description: str) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """A parser with a required sub-command; add commands with `add_command`."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    return parser, sub


def add_command(sub: argparse._SubParsersAction, name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
    """Register sub-command `name` dispatching to `handler(args)`."""
    p = sub.add_parser(name, help=help, description=help)
    p.set_defaults(func=handler)
    return p


def csv_list(text: str) -> list[str]:
    """argparse type for comma-separated lists (`a,b,c`); empty items dropped."""
    return [t.strip() for t in text.split(",") if t.strip()]


def run_cli(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the handler, map expected errors to `error: ...` and exit code 2."""
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted (partial outputs are left under temporary names and redone on re-run)", file=sys.stderr)
        return 130
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return int(rc or 0)


def package_main(prog: str, description: str, modules: Sequence, argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m <pkg>`: one sub-command per module (each exposes `register(sub)`)."""
    parser, sub = make_parser(prog, description)
    for mod in modules:
        mod.register(sub)
    return run_cli(parser, argv)


def default_workers() -> int:
    """Worker processes to use by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)
