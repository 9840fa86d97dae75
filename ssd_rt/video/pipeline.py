"""The threaded loop: capture thread -> inference thread -> sinks (window, recorder, JSON lines).

    pipeline = Pipeline(source, detector, sinks, batch=4, max_frames=None).start()
    pipeline.wait()        # end of file, max_frames, a source that failed; or call stop()
    pipeline.stop()        # stops and joins every thread, finalizes the files
    print(*pipeline.stats.summary(), sep="\n")

Threads: the capture thread owns the source, the inference thread owns the
backend (preprocess, infer and postprocess on its device), each file sink owns its file, and a
window only paints (it takes the newest result from a newest-only slot). Stages overlap: while
the network runs on frame n, frame n+1 is decoded and frame n-1 is encoded.

Batching: for ordered sources (files, image folders, the demo in file mode) the inference
thread takes up to `batch` frames that are already decoded, never waiting for more, so a
batch never adds latency; live sources always run one frame, the newest.
"""

from __future__ import annotations

import logging
import threading
import time

from ssd_rt.video.detector import Detector
from ssd_rt.video.frames import POLL_S, Result
from ssd_rt.video.sinks import FINISH_S, Sink
from ssd_rt.video.sources import Source
from ssd_rt.video.stats import Stats, stats_lines

log = logging.getLogger("ssd_rt")

JOIN_S = 1.0  # every thread is joined within this on stop


class Pipeline:
    def __init__(
        self,
        source: Source,
        detector: Detector,
        sinks: list[Sink],
        *,
        batch: int = 1,
        max_frames: int | None = None,
        renders_itself: bool = False,
        overlay: bool = True,
    ) -> None:
        """`renders_itself`: a window calls stats.add_displayed when it paints; otherwise a
        frame counts as rendered once every sink has it. `overlay`: stats text on recordings."""
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self.source = source
        self.detector = detector
        self.sinks = sinks
        max_batch = detector.max_batch or batch
        self.batch = 1 if source.live else min(batch, max_batch)
        self.max_frames = max_frames
        self.renders_itself = renders_itself
        self.overlay = overlay
        self.stats = Stats()
        self.error: BaseException | None = None
        self.stopped_by_user = False
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ssd-rt-inference", daemon=True)

    def start(self) -> Pipeline:
        self._thread.start()
        return self

    def add_sink(self, sink: Sink) -> None:
        """Start handing results to `sink` too (from any thread; the next frame on)."""
        self.sinks = [*self.sinks, sink]  # a new list: the inference thread iterates its own

    def remove_sink(self, sink: Sink) -> None:
        """Stop handing results to `sink`; the caller closes it (a frame in flight may still
        reach it: a closed ThreadedSink ignores it)."""
        self.sinks = [s for s in self.sinks if s is not sink]

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the run has ended by itself (end of source, max_frames, an error)."""
        return self._done.wait(timeout)

    def stop(self) -> None:
        """Stop now (Ctrl-C, window closed): joins the threads and finalizes the sinks."""
        if not self._done.is_set():
            self.stopped_by_user = True
        self._stop.set()
        self.source.stop(JOIN_S)
        if self._thread.is_alive():
            self._thread.join(FINISH_S + JOIN_S)  # it closes the sinks: they finish their files
        self.stats.set_dropped(self.source.dropped)

    # -- the inference thread --

    def _next_batch(self) -> tuple[list, bool]:
        """(frames, ended): up to self.batch frames, waiting only for the first."""
        limit = self.batch
        if self.max_frames is not None:
            limit = min(limit, self.max_frames - self.stats.frames)
        frames = []
        while not frames and not self._stop.is_set():
            try:
                frame = self.source.get(timeout=POLL_S)
            except TimeoutError:
                continue
            if frame is None:
                return frames, True
            frames.append(frame)
        while 0 < len(frames) < limit:
            try:
                frame = self.source.get(timeout=0)
            except TimeoutError:
                break
            if frame is None:
                return frames, True
            frames.append(frame)
        return frames, False

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as err:  # reported by the caller (the CLI prints one line)
            self.error = err
        finally:
            self._close_sinks()
            self.stats.set_dropped(self.source.dropped)
            self._done.set()

    def _loop(self) -> None:
        stats = self.stats
        while not self._stop.is_set():
            if self.max_frames is not None and stats.frames >= self.max_frames:
                return
            t0 = time.perf_counter()
            frames, ended = self._next_batch()
            if frames:
                stats.add_stage("capture wait", (time.perf_counter() - t0) * 1e3, len(frames))
                detections, timings = self.detector.detect([f.image_bgr for f in frames])
                for stage, ms in timings.items():
                    stats.add_stage(stage, ms, len(frames))
                stats.add_inferred(len(frames))
                stats.set_dropped(self.source.dropped)
                t1 = time.perf_counter()
                lines = self._overlay_lines() if self.overlay else ()
                sinks = self.sinks  # one list per batch (add_sink/remove_sink swap it)
                for frame, dets in zip(frames, detections):
                    result = Result(frame, dets, lines)
                    for sink in sinks:
                        sink.put(result)
                    if not self.renders_itself:
                        stats.add_displayed(frame.captured_at)
                stats.add_stage("render", (time.perf_counter() - t1) * 1e3, len(frames))
            if ended:
                if self.source.error is not None:
                    raise self.source.error
                return

    def _overlay_lines(self) -> tuple[str, ...]:
        return stats_lines(self.stats.snapshot())

    def _close_sinks(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except BaseException as err:
                if self.error is None:
                    self.error = err
