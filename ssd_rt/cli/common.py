"""How every ssd-rt command ends on bad input: one line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable

from ssd_rt.cli.signals import Stopped, StopSignals
from ssd_rt.errors import ConfigError, SSDRTError, error_line
from ssd_rt.redact import mask_logging

EXIT_USER_ERROR = 1  # bad path, file, number, a full disk or a missing optional component
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


def run_command(
    name: str, main: Callable[[list[str] | None], int], argv: list[str] | None = None
) -> int:
    """Run `main(argv)`, turning ssd-rt errors, OS errors (a full disk, a file that cannot be
    read) and signals into one line on stderr (credentials masked) and an exit code.

    Other exceptions are bugs and keep their traceback, so they get reported and fixed.
    """
    try:
        return main(argv)
    except (SSDRTError, OSError) as err:
        print(f"{name}: error: {error_line(err)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Stopped as stopped:  # before there was anything to finish
        print(f"{name}: stopped ({stopped})", file=sys.stderr)
        return 128 + stopped.signum
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def command_entry(name: str, main: Callable[[list[str] | None], int]) -> None:
    """A console script's body: warnings as `name: message` lines with credentials masked,
    then `main` under run_command, then exit with its code. SIGTERM and SIGHUP end every
    command like Ctrl-C, with one line and 128 + signal (its files are written atomically, so
    nothing is half-written); `ssd-rt` and the player finish their outputs first."""
    logging.basicConfig(level=logging.WARNING, format=f"{name}: %(message)s")
    mask_logging()
    with StopSignals():
        code = run_command(name, main)
    sys.exit(code)


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


def finite_float(text: str) -> float:
    """argparse type: a finite number (nan and inf are refused: no range check can catch them)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value
