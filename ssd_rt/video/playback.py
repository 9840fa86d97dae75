"""A source a player controls: play, pause, step, seek and the pace of a video file.

    player = Player(make_reader("video.mp4")).start()    # paused on the first frame
    player.play(); player.pause(); player.step(); player.seek(120)
    player.realtime = False        # as fast as inference allows (default: the file's own rate)
    player.refresh()               # deliver the shown frame again (new thresholds, while paused)
    Pipeline(player.source, ...)   # the pipeline takes frames from its Source as from any other

A `Player` is the `Feed` of the `Source` it owns (composition, through the Source's documented
seam): its loop runs in the capture thread and takes commands from the owner's thread. A file
plays at its own frame rate or as fast as inference allows; at the end it holds the last frame
(playing again starts over) instead of ending the run, because a player stays open on its file.
A seek empties the queue of decoded frames and bumps `epoch`: frames already in inference carry
the old epoch and the player skips them.

Live sources (cameras, streams, the live demo) cannot seek or step; pausing them keeps reading
(the camera's buffer stays fresh, a dropped stream still reconnects) but delivers nothing, and
`refresh()` re-delivers the frame on screen.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import cv2
import numpy as np

from ssd_rt.video.frames import POLL_S, Frame
from ssd_rt.video.readers import FileReader, Reader
from ssd_rt.video.sources import Feed, Source

SLIP_S = 0.25  # a file that fell this far behind its clock restarts the clock (no catch-up burst)


class SeekableFileReader(FileReader):
    """A video file that can jump to a frame (OpenCV seeks to a key frame and decodes on)."""

    @property
    def frame_count(self) -> int:
        """Frames the container announces (a guide for a slider, not always the truth)."""
        return self.announced

    def seek(self, index: int) -> np.ndarray | None:
        """The frame at `index` (the next read() gives index + 1), or None past the end."""
        self.first = None
        self.capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        frame = super().read()
        if frame is None:
            return None
        self.decoded = index + 1
        self.ended = False  # a seek back: the end reached before is no longer where we are
        return frame


class Player(Feed):
    def __init__(self, reader: Reader, *, reconnect_s: float = 30.0) -> None:
        if isinstance(reader, FileReader) and not isinstance(reader, SeekableFileReader):
            reader = SeekableFileReader(reader.path)
        self.reader = reader
        self.source = Source(reader, reconnect_s=reconnect_s, feed=self)
        self.seekable = isinstance(reader, SeekableFileReader)
        self.realtime = True  # files: pace frames at the file's rate; False: as fast as possible
        self.epoch = 0
        self.position = -1  # index of the newest frame delivered
        self.at_end = False
        self._playing = False
        self._commands: list[tuple] = []
        self._wake = threading.Condition()
        self._shown: Frame | None = None  # the newest frame delivered (for refresh)
        self._seek_pending = False

    def start(self) -> Player:
        self.source.start()
        return self

    def get(self, timeout: float = 1.0) -> Frame | None:  # read and stopped like its Source
        return self.source.get(timeout)

    def stop(self, timeout: float = 1.0) -> None:
        self.source.stop(timeout)

    @property
    def running(self) -> bool:
        return self.source.running

    # -- commands (any thread) --

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def fps(self) -> float | None:
        return self.reader.fps

    @property
    def frame_count(self) -> int | None:
        return self.reader.frame_count if self.seekable and self.reader.frame_count else None

    def play(self) -> None:
        self._command("play")

    def pause(self) -> None:
        self._command("pause")

    def step(self) -> None:
        """One frame forward (files, while paused)."""
        self._command("step")

    def seek(self, index: int) -> None:
        """Show frame `index` (files); playing goes on from there, paused stays paused."""
        self._command("seek", max(0, int(index)))

    def refresh(self) -> None:
        """Deliver the frame on screen again, so changed settings show while paused."""
        shown = self._shown
        if self.source.live and shown is not None:  # the slot is thread-safe
            self.source.deliver(replace(shown, captured_at=time.perf_counter(), repeat=True))
        elif not self.source.live:
            self._command("refresh")

    def _command(self, *command) -> None:
        with self._wake:
            if command[0] in ("play", "pause"):
                self._playing = command[0] == "play"  # seen at once by `playing`
            if self.seekable:  # the file loop runs the commands in the capture thread
                if command[0] == "seek":  # a dragged slider: only the newest seek matters
                    self._commands = [c for c in self._commands if c[0] != "seek"]
                    self._seek_pending = True  # frames read until the seek runs are stale
                    self.source.discard_pending()  # and so are those decoded ahead
                self._commands.append(command)
                self._wake.notify()

    # -- the capture thread --

    def _deliver(self, frame: Frame) -> bool:
        if self._seek_pending:
            return True  # read before a seek that is about to run: never shown
        if self.source.live and not self._playing:
            return True  # paused live source: read on, show nothing new
        self._shown = frame
        self.position = frame.index
        while not self.seekable and not self._playing:  # an image folder: wait for play
            if self.source.wait_stop(POLL_S):
                return False
        return self.source.deliver(frame)

    def run(self, source: Source) -> None:
        if not self.seekable:  # play/pause act in _deliver, refresh in refresh()
            source.read_frames(self._deliver)
            return
        first = self.reader.read()  # paused on the first frame, like any player
        if first is not None:
            self._deliver(source.make_frame(first, 0, self.epoch))
        due = time.perf_counter()
        while not source.stopping:
            with self._wake:
                if not self._commands and (not self._playing or self.at_end):
                    self._wake.wait(POLL_S)
                commands, self._commands = self._commands, []
                self._seek_pending = False  # the newest seek is among these
            for command in commands:
                due = self._run_command(command, due)
            if not self._playing or self.at_end:
                continue
            if self.realtime and self.reader.fps:
                delay = due - time.perf_counter()
                if delay > 0:
                    with self._wake:  # a command cuts the wait short
                        if not self._commands:
                            self._wake.wait(delay)
                    continue
                due = max(due + 1.0 / self.reader.fps, time.perf_counter() - SLIP_S)
            self._next_frame()

    def _next_frame(self) -> None:
        image = self.reader.read()
        if image is None:
            self.at_end = True  # hold the last frame; play starts over
            self._playing = False
            return
        self._deliver(self.source.make_frame(image, self.position + 1, self.epoch))

    def _run_command(self, command: tuple, due: float) -> float:
        name = command[0]
        if name == "play" and self.at_end:
            self._seek_to(0)
            self._playing = not self.at_end  # the end may have paused it meanwhile
        elif name == "step" and not self._playing and not self.at_end:
            self._next_frame()
        elif name == "seek":
            self._seek_to(command[1])
        elif name == "refresh" and self._shown is not None:
            self._deliver(replace(self._shown, captured_at=time.perf_counter(), repeat=True))
        return time.perf_counter() if name in ("play", "seek") else due

    def _seek_to(self, index: int) -> None:
        self.epoch += 1
        self.source.discard_pending()  # frames decoded before the seek are stale
        image = self.reader.seek(index)
        self.at_end = image is None
        if image is None:
            self._playing = False
            return
        self._deliver(self.source.make_frame(image, index, self.epoch))
