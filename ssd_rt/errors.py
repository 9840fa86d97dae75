"""Errors a user can cause. Each carries one line that a command prints without a traceback."""

from __future__ import annotations

import re

from ssd_rt.redact import mask_credentials


class SSDRTError(Exception):
    """Base of every error ssd-rt raises for bad input; commands print `str(err)` and exit 1."""


class ConfigError(SSDRTError, ValueError):
    """An invalid configuration value: unknown norm or preset, a prior spec that does not fit."""


class ShapeError(SSDRTError, ValueError):
    """A tensor or image whose shape, dtype or layout is not what the function takes."""


class WeightsError(SSDRTError):
    """A weights file that is missing, unreadable, or not the model it claims to be."""


class DataError(SSDRTError):
    """A data set that cannot be read: a missing image, a malformed annotation file or line."""


class OutputError(SSDRTError):
    """An output file that could not be written whole (a full disk, a write error)."""


# torch's DataLoader re-raises a worker's exception with the worker's whole traceback as its
# message ("Caught DataError in DataLoader worker process 0.\nOriginal Traceback ...\n
# ssd_rt.errors.DataError: cannot decode x.jpg"): the user's line is the last one.
_WORKER_HEADER = re.compile(r"^Caught \w+ in DataLoader worker process \d+")
_QUALIFIED_NAME = re.compile(r"^[\w.]+(Error|Exception|Interrupt)\w*: ")


def error_line(err: BaseException) -> str:
    """What a user is shown for a failure, as one line with credentials masked: our errors as
    they are (a DataLoader worker's too), others with their type, an OSError with its file."""
    if isinstance(err, SSDRTError):
        text = str(err)
        if _WORKER_HEADER.match(text):
            last = [line for line in text.splitlines() if line.strip()][-1].strip()
            text = _QUALIFIED_NAME.sub("", last)
    elif isinstance(err, OSError) and err.strerror:
        text = f"{err.filename}: {err.strerror}" if err.filename else err.strerror
    else:
        text = f"{type(err).__name__}: {err}"
    lines = text.strip().splitlines() or [type(err).__name__]
    return mask_credentials(lines[0])
