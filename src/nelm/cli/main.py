"""``nelm``: the command-line entry point.

Modelled on ``pydicom.cli.main``: :func:`main` takes ``argv`` so that tests call it directly;
each sub-command lives in its own module and registers itself with :func:`add_subparser`.

Exit status: 0 on success; 2 for bad input the user can fix (an :class:`~nelm.errors.InputError`,
or a usage error), printed as one line without a traceback; 1 for an internal failure.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from nelm import RESEARCH_USE_DISCLAIMER, __version__
from nelm.cli import advise as advise_command
from nelm.cli import demo as demo_command
from nelm.cli import info as info_command
from nelm.cli import phantom as phantom_command
from nelm.cli import quantify as quantify_command
from nelm.cli import response as response_command
from nelm.cli import run as run_command
from nelm.cli import y90 as y90_command
from nelm.errors import InputError, NelmError

__all__ = ["build_parser", "main"]

logger = logging.getLogger("nelm")

_SUBCOMMANDS = (
    phantom_command,
    info_command,
    quantify_command,
    response_command,
    y90_command,
    run_command,
    advise_command,
    demo_command,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="nelm",
        description=(
            "Imaging workbench for liver-directed therapy of neuroendocrine liver metastases. "
            + RESEARCH_USE_DISCLAIMER
        ),
    )
    parser.add_argument("--version", action="version", version=f"nelm {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _SUBCOMMANDS:
        module.add_subparser(sub)
    return parser


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (tests swap it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _attach_handler(verbosity: int) -> tuple[logging.Handler, int]:
    """Send nelm's log records to stderr for this run; return what to undo afterwards."""
    handler = _StderrHandler()
    handler.setLevel(logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG)
    previous = logger.level
    if verbosity > 0:
        logger.setLevel(handler.level)
    logger.addHandler(handler)
    return handler, previous


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nelm`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    handler, previous_level = _attach_handler(args.verbose)
    try:
        status: int = args.func(args)
    except InputError as exc:
        print(f"nelm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except NelmError as exc:
        print(f"nelm {args.command}: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"nelm {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"nelm {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for a traceback, and please report it)",
            file=sys.stderr,
        )
        return 1
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
