"""Readers: one object per kind of source that opens it and returns its frames one at a time.

    reader.open()          -> None, or SourceError with one clear line
    reader.read()          -> BGR uint8 [H, W, 3], or None at the end (or a drop, for live ones)
    reader.pts_s, reader.file_name     where the frame just read is: its position in the video
                                       (files: the decoder's timestamp), its file (folders)
    reader.close()

A reader is used by exactly one thread, the capture thread of `sources.Source`, which opens,
reads and closes it (OpenCV captures are not safe to share between threads). Readers know
nothing of queues, timing or reconnection; `Source` does that.
"""

from __future__ import annotations

import glob
import logging
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from ssd_rt.errors import SSDRTError
from ssd_rt.redact import mask_credentials

log = logging.getLogger("ssd_rt")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
NETWORK_TIMEOUT_MS = 5000  # OpenCV's FFmpeg open/read timeout for streams (its default is 30 s)


# OpenCV's own warnings ("can't open camera by index", FFmpeg chatter) would bury the one
# clear line ssd-rt prints for the same failure.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class SourceError(SSDRTError):
    """A source that cannot be opened or that failed for good (message: one line)."""


class Reader:
    live = False  # live: frames come at the source's pace, stale ones are dropped
    fps: float | None = None  # the source's own frame rate where it says one
    name = "source"  # what messages call it (credentials masked)
    pts_s: float | None = None  # the last frame's position in the video (files), seconds
    file_name: str | None = None  # the last frame's file (image folders)

    def open(self) -> None:
        raise NotImplementedError

    def read(self) -> np.ndarray | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def end_report(self) -> str | None:
        """One line about frames that could not be decoded, or None."""
        return None

    # What a Source does when read() returns None: a stream is reopened (reconnects), a camera
    # that stops has failed (lost_error), anything else has simply ended.
    reconnects = False

    def lost_error(self, delivered: int) -> SourceError | None:
        return None


def _capture_fps(capture: cv2.VideoCapture) -> float | None:
    fps = capture.get(cv2.CAP_PROP_FPS)
    return float(fps) if 0.5 <= fps <= 1000 else None


class CaptureReader(Reader):
    """A reader over one cv2.VideoCapture (cameras, files, streams); subclasses open it."""

    capture: cv2.VideoCapture | None = None

    def read(self) -> np.ndarray | None:
        ok, frame = self.capture.read()
        return frame if ok else None

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None


def find_cameras(max_probe: int = 4) -> list[int]:
    """Camera indices present: /dev/video* on Linux (no device is opened), else the first
    `max_probe` indices that open."""
    if sys.platform.startswith("linux"):
        names = (Path(p).name[len("video") :] for p in glob.glob("/dev/video*"))
        return sorted(int(n) for n in names if n.isdigit())
    found = []
    for index in range(max_probe):
        capture = cv2.VideoCapture(index)
        if capture.isOpened():
            found.append(index)
        capture.release()
    return found


class CameraReader(CaptureReader):
    live = True

    def lost_error(self, delivered: int) -> SourceError | None:
        return SourceError(
            f"{self.name} stopped delivering frames (unplugged or taken by another program) "
            f"after {delivered} frames"
        )

    def __init__(self, index: int) -> None:
        self.index = index
        self.name = f"camera {index}"

    def open(self) -> None:
        self.capture = cv2.VideoCapture(self.index)
        if not self.capture.isOpened():
            self.capture.release()
            raise SourceError(
                f"camera {self.index} cannot be opened (it does not exist or is in use); "
                f"cameras are numbered from 0"
            )
        self.fps = _capture_fps(self.capture)


class FileReader(CaptureReader):
    """A video file, every frame in order; the end is where the decoder stops."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self.decoded = 0
        self.announced = 0
        self.first: np.ndarray | None = None
        self.first_pts_s: float | None = None
        self.ended = False  # the decoder ran out (not a stop, a --max-frames or a seek)

    def open(self) -> None:
        if not self.path.exists():
            raise SourceError(f"video file not found: {self.path}")
        if not self.path.is_file():
            raise SourceError(f"{self.path} is not a file")
        self.capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        ok, frame = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok:
            self.capture.release()
            raise SourceError(f"{self.path} is not a video that can be decoded (no frame read)")
        self.first = frame
        self.first_pts_s = self._position_s()
        self.fps = _capture_fps(self.capture)
        # Only for the end report: containers often announce a wrong count.
        self.announced = max(int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)

    def _position_s(self) -> float:
        """The decoder's timestamp of the frame just read (OpenCV's FFmpeg backend gives the
        frame's pts, so a variable or mislabelled rate is told right)."""
        return max(self.capture.get(cv2.CAP_PROP_POS_MSEC), 0.0) / 1000.0

    def read(self) -> np.ndarray | None:
        if self.first is not None:
            frame, self.first = self.first, None
            self.pts_s = self.first_pts_s
        else:
            frame = super().read()
            if frame is None:
                self.ended = True
                return None
            self.pts_s = self._position_s()
        self.decoded += 1
        return frame

    def end_report(self) -> str | None:
        """A warning when the decoder ran out well before the time the container announces:
        truncated or corrupt. Judged by time, not frame count, so a file whose nominal rate
        disagrees with its frames is not blamed; never after a stop or --max-frames."""
        if not (self.ended and self.announced and self.fps and self.pts_s is not None):
            return None
        announced_s = self.announced / self.fps  # OpenCV's count is duration x nominal rate
        reached_s = self.pts_s + 1.0 / self.fps
        if reached_s < announced_s * 0.98 - 1.0 / self.fps:
            return (
                f"{self.path}: decoded {self.decoded} frames ({reached_s:.2f} s), but the file "
                f"announces {self.announced} ({announced_s:.2f} s); the rest could not be "
                f"decoded (truncated or corrupt file?)"
            )
        return None


class StreamReader(CaptureReader):
    """A network stream (RTSP, HTTP, ...) through OpenCV's FFmpeg backend, with timeouts."""

    live = True
    reconnects = True

    def __init__(self, url: str, timeout_ms: int = NETWORK_TIMEOUT_MS) -> None:
        self.url = url  # as given: only open() uses it
        self.name = mask_credentials(url)
        self.timeout_ms = timeout_ms

    def open(self) -> None:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self.timeout_ms,
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, self.timeout_ms]  # fmt: skip
        self.capture = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)
        if not self.capture.isOpened():
            self.capture.release()
            raise SourceError(f"cannot open stream {self.name} (unreachable or not a video)")
        self.fps = _capture_fps(self.capture)


class ImageFolderReader(Reader):
    """Images of a folder (sorted by name) or a glob pattern; unreadable files are skipped."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.name = pattern
        self.paths: list[Path] = []
        self.position = 0
        self.skipped: list[str] = []

    def open(self) -> None:
        folder = Path(self.pattern)
        candidates = folder.iterdir() if folder.is_dir() else map(Path, glob.glob(self.pattern))
        paths = [p for p in candidates if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
        if not paths:
            raise SourceError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {self.pattern}")
        self.paths = sorted(paths)

    def read(self) -> np.ndarray | None:
        while self.position < len(self.paths):
            path = self.paths[self.position]
            self.position += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                self.file_name = path.name
                return image
            self.skipped.append(path.name)
            log.warning("skipping %s: not an image that can be decoded", path)
        return None

    def end_report(self) -> str | None:
        if self.skipped:
            return f"{len(self.skipped)} of {len(self.paths)} images could not be decoded"
        return None


class DemoReader(Reader):
    """Generated moving scenes (the data module's MovingScenes): endless, or `count` frames.

    live=True paces frames at `fps` like a camera (and drops stale ones downstream);
    live=False delivers every frame as fast as it is consumed, like a file.
    """

    def __init__(self, *, live: bool = True, fps: float = 30.0, height: int = 360,
                 width: int = 640, seed: int = 0, count: int | None = None) -> None:  # fmt: skip
        self.live = live
        self.fps = fps
        self.name = "demo"
        self.size = (height, width)
        self.seed = seed
        self.count = count
        self.frames = None
        self.next_due = 0.0
        self.index = -1  # of the last frame read

    def open(self) -> None:
        from ssd_rt.data.synthetic import MovingScenes

        self.frames = MovingScenes(self.seed, *self.size).frames(self.count)
        self.index = -1
        self.next_due = time.perf_counter()

    def read(self) -> np.ndarray | None:
        if self.live:  # a camera delivers at its own rate, whether or not anyone keeps up
            delay = self.next_due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self.next_due = max(self.next_due + 1.0 / self.fps, time.perf_counter() - 1.0)
        frame = next(self.frames, None)
        if frame is None:
            return None
        self.index += 1
        self.pts_s = None if self.live else self.index / self.fps  # file mode: a video's time
        return frame[0]
