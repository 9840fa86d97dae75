"""What a `RunSession` tells its host, as small frozen values delivered on the owner thread.

A window turns each into widgets (a busy bar, a message, a label); a command turns them into
lines on stderr. None of them carries Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssd_rt.errors import error_line


@dataclass(frozen=True)
class Busy:
    text: str | None  # what is being done in the background; None: done


@dataclass(frozen=True)
class Failed:
    text: str  # one line for the user: a file that cannot be opened, a model that did not load


@dataclass(frozen=True)
class ModelLoaded:
    path: Path
    detector: Any  # video.detector.Detector


@dataclass(frozen=True)
class SourceOpened:
    text: str  # as the user gave it
    source: Any  # video.sources.Source (a PlaybackSource in a player)


@dataclass(frozen=True)
class RunEnded:
    error: BaseException | None  # None: the end of the file, max_frames


@dataclass(frozen=True)
class OutputClosed:
    name: str  # "recording" or "detections"
    path: Path
    error: str | None  # None: the file is complete


Event = Busy | Failed | ModelLoaded | SourceOpened | RunEnded | OutputClosed


def one_line(err: BaseException) -> str:
    """What a user is shown for a failure (one line, credentials masked)."""
    return error_line(err)
