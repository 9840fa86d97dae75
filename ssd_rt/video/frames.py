"""What flows between the threads of a run: frames, results, and the newest-only slot.

    Frame(image_bgr, index, captured_at, epoch, repeat,   capture thread -> inference thread
          pts_s, file_name, captured_unix_s)
    Result(frame, detections, stats_lines)                inference thread -> sinks, displays
    LatestSlot                                            keeps only the newest item (live)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ssd_rt.detections import Detections

POLL_S = 0.05  # how often a blocked thread looks at its stop flag


@dataclass
class Frame:
    image_bgr: np.ndarray  # [H, W, 3] uint8
    index: int  # 0-based position among the frames this source delivered (decoded, for files)
    captured_at: float  # time.perf_counter() when the capture thread got it
    epoch: int = 0  # seeks before this frame (a player drops results of an older epoch)
    repeat: bool = False  # delivered again (new thresholds while paused): outputs have it already
    pts_s: float | None = None  # position in the video (files: the decoder's timestamp), seconds
    file_name: str | None = None  # the image file it came from (image folders)
    captured_unix_s: float = field(default_factory=time.time)  # wall clock at capture (live)


@dataclass
class Result:
    frame: Frame
    detections: Detections  # frame pixels, on the CPU
    stats_lines: tuple[str, ...] = ()  # overlay text (FPS, timings) at the time of the frame


class LatestSlot:
    """Holds the newest item only; putting over an unread item drops it (and counts it)."""

    def __init__(self) -> None:
        self._item = None
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, item) -> bool:
        """True when it replaced an item nobody took (a consumer has been told already)."""
        with self._cond:
            replaced = self._item is not None
            self.dropped += replaced
            self._item = item
            self._cond.notify()
            return replaced

    def get(self, timeout: float):
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item
