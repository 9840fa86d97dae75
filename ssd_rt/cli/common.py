"""How every ssd-rt command ends on bad input: one line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from ssd_rt.errors import ConfigError, SSDRTError

EXIT_USER_ERROR = 1  # bad path, file, number or a missing optional component
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


def run_command(
    name: str, main: Callable[[list[str] | None], int], argv: list[str] | None = None
) -> int:
    """Run `main(argv)`, turning ssd-rt errors and Ctrl-C into one line on stderr and an exit code.

    Other exceptions are bugs and keep their traceback, so they get reported and fixed.
    """
    try:
        return main(argv)
    except SSDRTError as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are a ConfigError: one line and exit 1, as every bad input."""

    def error(self, message: str):
        raise ConfigError(message)


def comma_separated(text: str) -> list[str]:
    """ "a, b,,c" -> ["a", "b", "c"]: the names of a comma-separated option, blanks dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1, else a message naming what was given."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value
