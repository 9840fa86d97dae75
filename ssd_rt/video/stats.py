"""Pipeline statistics: frame rates, per-stage milliseconds, latency, drops; live and at the end.

Written by the inference thread and the displays, read by the window and the final summary; a
lock keeps each snapshot consistent. Rates and medians cover a sliding window (the last
`WINDOW` frames) for the live view, and the whole run for the summary.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, field

WINDOW = 120  # frames in the live (sliding) figures
STAGE_ORDER = ("capture wait", "preprocess", "infer", "postprocess", "render")


@dataclass(frozen=True)
class Snapshot:
    frames: int  # frames through inference
    displayed: int  # frames rendered (window, recorder or headless consumer)
    dropped: int  # live frames replaced before inference took them
    inference_fps: float  # frames per second of inference (sliding window)
    display_fps: float  # frames per second rendered (sliding window)
    stage_ms: dict[str, float] = field(default_factory=dict)  # median per stage (window)
    latency_ms: float = float("nan")  # median capture -> rendered (window)

    def stages_text(self, separator: str = " ", with_wait: bool = False) -> str:
        """ "preprocess 1.2 infer 9.8 ..." (ms); the capture wait is idle time, left out unless
        asked for."""
        return separator.join(f"{k} {v:.1f}" for k, v in self.stage_ms.items()
                              if with_wait or k != "capture wait")  # fmt: skip


def stats_lines(snapshot: Snapshot, *, display: bool = False, frames: bool = False,
                wait: bool = False) -> tuple[str, str]:  # fmt: skip
    """The two lines of live figures every view shows: rates and drops, then milliseconds.

    `display`: a window's view (its own paint rate and the capture-to-screen latency);
    `frames`: the frame count first (the headless status line joins both with " | ");
    `wait`: the time inference waited for frames among the stages."""
    rates = [f"{snapshot.frames} frames"] if frames else []
    if display:
        rates += [f"display {snapshot.display_fps:.1f} FPS",
                  f"inference {snapshot.inference_fps:.1f} FPS"]  # fmt: skip
    else:
        rates.append(f"{snapshot.inference_fps:.1f} FPS")
    rates.append(f"dropped {snapshot.dropped}")
    ms = "ms: " + snapshot.stages_text(", " if wait else " ", with_wait=wait)
    if display:
        ms += f" | latency {snapshot.latency_ms:.0f}"
    return " | ".join(rates), ms


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.perf_counter()
        self.frames = 0
        self.displayed = 0
        self.dropped = 0
        self._infer_times: deque[float] = deque(maxlen=WINDOW)
        self._display_times: deque[float] = deque(maxlen=WINDOW)
        self._stages: dict[str, deque[float]] = {s: deque(maxlen=WINDOW) for s in STAGE_ORDER}
        self._latency: deque[float] = deque(maxlen=WINDOW)
        self._all_latency: list[float] = []
        self._stage_totals: dict[str, float] = dict.fromkeys(STAGE_ORDER, 0.0)
        self._stage_counts: dict[str, int] = dict.fromkeys(STAGE_ORDER, 0)

    def add_stage(self, stage: str, ms: float, frames: int = 1) -> None:
        """`ms` spent on `stage` for a batch of `frames` (stored per frame)."""
        with self._lock:
            per_frame = ms / frames
            self._stages[stage].append(per_frame)
            self._stage_totals[stage] += ms
            self._stage_counts[stage] += frames

    def add_inferred(self, frames: int) -> None:
        now = time.perf_counter()
        with self._lock:
            self.frames += frames
            self._infer_times.extend([now] * frames)

    def add_displayed(self, captured_at: float) -> None:
        now = time.perf_counter()
        with self._lock:
            self.displayed += 1
            self._display_times.append(now)
            latency = (now - captured_at) * 1e3
            self._latency.append(latency)
            self._all_latency.append(latency)

    def set_dropped(self, dropped: int) -> None:
        with self._lock:
            self.dropped = dropped

    @staticmethod
    def _rate(times: deque[float]) -> float:
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def snapshot(self) -> Snapshot:
        with self._lock:
            stages = {s: statistics.median(v) for s, v in self._stages.items() if v}
            latency = statistics.median(self._latency) if self._latency else float("nan")
            return Snapshot(self.frames, self.displayed, self.dropped,
                            self._rate(self._infer_times), self._rate(self._display_times),
                            stages, latency)  # fmt: skip

    def summary(self) -> list[str]:
        """The end-of-run report: whole-run rates and mean milliseconds per stage."""
        with self._lock:
            seconds = max(time.perf_counter() - self.started, 1e-9)
            lines = [
                f"{self.frames} frames in {seconds:.1f} s: {self.frames / seconds:.1f} frames/s "
                f"through inference, {self.displayed} rendered, {self.dropped} dropped (stale)"
            ]
            parts = [f"{s} {self._stage_totals[s] / self._stage_counts[s]:.1f}"
                     for s in STAGE_ORDER if self._stage_counts[s]]  # fmt: skip
            if parts:
                lines.append("mean ms per frame: " + ", ".join(parts))
            if self._all_latency:
                ordered = sorted(self._all_latency)
                p50 = ordered[len(ordered) // 2]
                p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
                lines.append(f"capture-to-render latency: median {p50:.1f} ms, p95 {p95:.1f} ms")
            return lines
