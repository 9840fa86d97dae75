"""Results released to a display at the spacing they were captured with, not as they arrive.

    presenter = Presenter()
    presenter.put(result)            # inference thread; True: it was empty (wake the display)
    result = presenter.take()        # display thread: the next due result, or None
    wait_s = presenter.wait_s()      # when the next one is due (None: nothing pending)

Why: the inference thread runs a file's frames in batches (up to 4), so results arrive in bursts:
four frames captured 40 ms apart land within a millisecond. A display that shows the newest
arrival paints one frame in four, and a 25 fps file played at its rate looked like 5-6 FPS
whenever inference fell a little behind (benchmarks/player_window.py --load 2). Here each
result is due at `captured_at + delay`, the delay being the longest capture-to-arrival time of
the last 8 results (two batches): the capture clock shifted by what the pipeline needs, so a
batch is shown frame by frame at the spacing it was captured with (the file's rate when paced,
the camera's when live, the inference rate when a file runs as fast as it can). The delay rises
at once when results come later (a result is never due before it arrived) and falls back once
the slow ones have left the window. A display woken a little late (a busy CPU) catches up frame
by frame; one more than `late_s` behind skips to the newest due result (`dropped` counts the
skipped ones): it never lags the video to show everything.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from ssd_rt.video.frames import Result

PENDING_MAX = 16  # results waiting at most (4 batches of 4); older ones are dropped first
RECENT = 8  # arrivals whose capture-to-arrival time sets the delay (two batches of 4)
LATE_S = 0.2  # a display later than this skips results instead of showing each one


class Presenter:
    def __init__(self, *, pending_max: int = PENDING_MAX, recent: int = RECENT,
                 late_s: float = LATE_S) -> None:  # fmt: skip
        self.late_s = late_s
        self._pending: deque[Result] = deque(maxlen=pending_max)
        self._arrival_s: deque[float] = deque(maxlen=recent)  # capture -> put, seconds
        self._lock = threading.Lock()
        self.dropped = 0  # results never shown: the display was behind, or the queue full

    def put(self, result: Result, now: float | None = None) -> bool:
        """Queue a result (any thread); True when nothing was pending: wake the display."""
        now = time.perf_counter() if now is None else now
        with self._lock:
            self._arrival_s.append(max(0.0, now - result.frame.captured_at))
            was_empty = not self._pending
            if len(self._pending) == self._pending.maxlen:
                self.dropped += 1  # deque(maxlen) drops the oldest
            self._pending.append(result)
            return was_empty

    def take(self, now: float | None = None) -> Result | None:
        """The oldest result due at `now` (perf_counter seconds), so a display woken a little
        late catches up frame by frame; results more than `late_s` overdue are dropped while a
        newer one is due too (a display far behind skips ahead instead)."""
        now = time.perf_counter() if now is None else now
        with self._lock:
            pending = self._pending
            while len(pending) > 1 and self._due(pending[1]) < now - self.late_s:
                pending.popleft()
                self.dropped += 1
            if pending and self._due(pending[0]) <= now:
                return pending.popleft()
            return None

    def take_newest(self) -> Result | None:
        """The newest pending result, due or not (the run ended: show its last frame now)."""
        with self._lock:
            self.dropped += max(0, len(self._pending) - 1)
            newest = self._pending[-1] if self._pending else None
            self._pending.clear()
            return newest

    def wait_s(self, now: float | None = None) -> float | None:
        """Seconds until the next pending result is due (0 if it is); None when none waits."""
        now = time.perf_counter() if now is None else now
        with self._lock:
            if not self._pending:
                return None
            return max(0.0, self._due(self._pending[0]) - now)

    def clear(self) -> None:
        """Forget pending results and the delay (a new run or source)."""
        with self._lock:
            self._pending.clear()
            self._arrival_s.clear()

    def _due(self, result: Result) -> float:
        return result.frame.captured_at + max(self._arrival_s, default=0.0)
