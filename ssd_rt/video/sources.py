"""Sources: what `--source` names, and the capture thread that owns each one.

    source = open_source("0" | "video.mp4" | "rtsp://..." | "folder/" | "*.jpg" | "demo")
    source.start()                 # opens in the capture thread; SourceError if it cannot
    frame = source.get(timeout)    # Frame, or None at the end (after source.error is set or not)
    source.stop()                  # joins the capture thread

Delivery: a live source (camera, stream, live demo) keeps only the newest frame;
a frame not taken before the next one arrives is dropped and counted, so latency stays at one
frame whatever inference costs. Files and image folders deliver every frame, in order, through a
bounded queue: the capture thread waits when inference is behind (backpressure).

A stream that drops is reopened with back-off (0.5 s doubling to 5 s, one line each time) until
`reconnect_s` passes without a decoded frame; then the run ends with a SourceError. A reopen
that yields no frame (a server that answers but sends nothing) does not reset that clock: only a
frame does. A camera that stops delivering ends the run with a clear message.

What the capture thread does once the reader is open is a `Feed`: by default every frame in
order; a player (`playback.Player`) adds play, pause, step and seek through the same seam.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

from ssd_rt.redact import mask_credentials
from ssd_rt.video.frames import POLL_S, Frame, LatestSlot
from ssd_rt.video.readers import (
    STREAM_SCHEMES,
    CameraReader,
    DemoReader,
    FileReader,
    ImageFolderReader,
    Reader,
    SourceError,
    StreamReader,
)

log = logging.getLogger("ssd_rt")

QUEUE_FRAMES = 8  # ordered sources: frames decoded ahead of inference
OPEN_TIMEOUT_S = 20.0  # longest wait for a source to open (streams have their own 5 s timeouts)
BACKOFF_S = (0.5, 1.0, 2.0, 5.0)  # waits between stream reconnection attempts


def make_reader(text: str, *, demo_live: bool = True, demo_frames: int | None = None) -> Reader:
    """`--source` text -> the reader for it (nothing is opened yet)."""
    text = text.strip()
    if not text:
        raise SourceError("--source is empty; give a camera index, a file, a URL, a folder or demo")
    if text == "demo":
        return DemoReader(live=demo_live, count=demo_frames)
    if text.isdigit():
        return CameraReader(int(text))
    if text.lower().startswith(STREAM_SCHEMES):
        return StreamReader(text)
    if "://" in text:
        raise SourceError(f"unsupported URL scheme in {mask_credentials(text)!r}; "
                          f"use {', '.join(STREAM_SCHEMES)}")  # fmt: skip
    if any(c in text for c in "*?[") or Path(text).is_dir():
        return ImageFolderReader(text)
    return FileReader(Path(text))


_END = object()  # what the capture thread puts after the last frame


class Feed:
    """What runs in a Source's capture thread once its reader is open: reads frames and hands
    them over through the Source's seam (`deliver`, `discard_pending`, `stopping`, `wait_stop`,
    `read_frames`). The default reads every frame in order; `playback.Player` is another."""

    def run(self, source: Source) -> None:
        source.read_frames()


class Source:
    def __init__(self, reader: Reader, *, reconnect_s: float = 30.0,
                 feed: Feed | None = None) -> None:  # fmt: skip
        self.reader = reader
        self.live = reader.live
        self.reconnect_s = reconnect_s
        self.feed = feed or Feed()
        self.error: SourceError | None = None  # why the source ended early, if it did
        self.end_report: str | None = None
        self.delivered = 0
        self.reconnects = 0
        self._last_frame_at = 0.0  # perf_counter of the newest frame read (or of the opening)
        self._outage: tuple[float, int] | None = None  # (frame-less since, attempts) while down
        self._slot = LatestSlot() if self.live else None
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._open_error: SourceError | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="ssd-rt-capture", daemon=True)

    @property
    def name(self) -> str:
        return self.reader.name

    @property
    def fps(self) -> float | None:
        return self.reader.fps

    @property
    def dropped(self) -> int:
        return self._slot.dropped if self._slot else 0

    def start(self) -> Source:
        self._thread.start()
        if not self._opened.wait(OPEN_TIMEOUT_S):
            self.stop()
            raise SourceError(f"{self.name} did not open within {OPEN_TIMEOUT_S:.0f} s")
        if self._open_error:
            self._thread.join()
            raise self._open_error
        return self

    def get(self, timeout: float = 1.0) -> Frame | None:
        """The next frame, None at the end; raises TimeoutError when none came in `timeout`."""
        if self._ended:
            return None
        deadline = time.perf_counter() + timeout
        while True:
            if self.live:
                item = self._slot.get(min(POLL_S, timeout))
                if item is None and not self._thread.is_alive():
                    item = self._slot.get(0) or _END  # a frame put just before the thread ended
            else:
                try:
                    item = self._queue.get(timeout=min(POLL_S, timeout))
                except queue.Empty:
                    item = None
            if item is _END:
                self._ended = True
                return None
            if item is not None:
                return item
            if time.perf_counter() >= deadline:
                raise TimeoutError

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # -- the seam a Feed uses (deliver and discard_pending are safe from any thread) --

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_stop(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True as soon as the source is being stopped."""
        return self._stop.wait(seconds)

    def deliver(self, frame: Frame) -> bool:
        """Hand a frame over: live sources replace an untaken one (counted as dropped), ordered
        ones wait for room in the queue (backpressure). False when stopped while waiting."""
        if self.live:
            self._slot.put(frame)
            return True
        return self._put(frame)

    def discard_pending(self) -> None:
        """Drop the frames decoded but not taken yet (they are stale after a seek)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def make_frame(self, image, index: int, epoch: int = 0) -> Frame:
        """A Frame of the image the reader just gave, stamped with where it is in the source."""
        return Frame(image, index, time.perf_counter(), epoch, pts_s=self.reader.pts_s,
                     file_name=self.reader.file_name)  # fmt: skip

    def read_frames(self, deliver=None) -> None:
        """The default feed: every frame the reader gives, numbered in order, to `deliver`
        (default `self.deliver`; False from it ends the loop); a dropped stream is reconnected,
        a lost camera sets `error`."""
        deliver = deliver or self.deliver
        while not self._stop.is_set():
            image = self.reader.read()
            if image is None:
                if self.reader.reconnects:
                    if self._reconnect():
                        continue
                    return  # gave up: _reconnect set the error, or the source was stopped
                self.error = self.reader.lost_error(self.delivered)
                return
            self._frame_arrived()
            if not deliver(self.make_frame(image, self.delivered)):
                return
            self.delivered += 1

    # -- the capture thread --

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            self.reader.open()
        except SourceError as err:
            self._open_error = err
            self._opened.set()
            return
        except Exception as err:  # an OpenCV backend failure is also "cannot open"
            self._open_error = SourceError(f"cannot open {self.name}: {err}")
            self._opened.set()
            return
        self._last_frame_at = time.perf_counter()
        self._opened.set()
        try:
            self.feed.run(self)
        finally:
            self.reader.close()
            self.end_report = self.reader.end_report()
            if not self.live:  # the live slot reports the end once the thread is gone
                self._put(_END)

    def _frame_arrived(self) -> None:
        self._last_frame_at = time.perf_counter()
        if self._outage is not None:
            self.reconnects += 1
            log.warning("stream %s is back after %.1f s without frames", self.name,
                        self._last_frame_at - self._outage[0])  # fmt: skip
            self._outage = None

    def _reconnect(self) -> bool:
        """Reopen a dropped stream with back-off; False once reconnect_s passed without a
        frame (error set) or when stopped. Reopening alone is not "back": the outage lasts
        until a frame arrives (read_frames calls _frame_arrived), so a server that answers but
        sends nothing is given up after reconnect_s like one that does not answer."""
        since, attempt = self._outage or (self._last_frame_at, 0)
        self.reader.close()
        while not self._stop.is_set():
            if time.perf_counter() - since >= self.reconnect_s:
                self.error = SourceError(
                    f"stream {self.name} sent no frame for {self.reconnect_s:g} s; giving up "
                    f"after {attempt} reconnection attempts"
                )
                return False
            wait = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            attempt += 1
            self._outage = (since, attempt)
            log.warning("stream %s dropped; reconnecting in %.1f s (attempt %d)",
                        self.name, wait, attempt)  # fmt: skip
            if self._stop.wait(min(wait, max(since + self.reconnect_s - time.perf_counter(), 0))):
                return False
            try:
                self.reader.open()
            except SourceError:
                continue
            return True
        return False


def open_source(text: str, *, demo_live: bool = True, demo_frames: int | None = None,
                reconnect_s: float = 30.0) -> Source:  # fmt: skip
    """A started Source for `--source` text (raises SourceError with one line if it cannot)."""
    reader = make_reader(text, demo_live=demo_live, demo_frames=demo_frames)
    return Source(reader, reconnect_s=reconnect_s).start()
