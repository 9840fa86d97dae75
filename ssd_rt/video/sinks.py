"""Consumers of results: a recorder, a JSON-lines writer, and the newest-result slot of a window.

Each file-writing sink owns a thread and a bounded queue: the inference thread hands a result
over and goes on; when a sink falls behind, the hand-over waits (every frame of a file is
written, none is dropped). `close()` writes what is queued and finalizes the file.

Files never replace what the user had: the CLI refuses an existing path (without --overwrite),
and the recording is written as `NAME.partial.mp4` and renamed when finalized, so a crash
leaves an obviously partial file, never a broken one under the asked-for name. JSON lines are
flushed per frame, so a crash loses at most the line being written.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from pathlib import Path

import cv2

from ssd_rt.errors import ConfigError
from ssd_rt.video.draw import draw_detections, draw_text_lines
from ssd_rt.video.frames import POLL_S, LatestSlot, Result

SINK_QUEUE = 16  # results waiting per sink


class Sink:
    """Receives every result in order; `close()` finishes the output (idempotent)."""

    def put(self, result: Result) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ThreadedSink(Sink):
    """`handle(result)` runs in the sink's own thread; `finish()` there after the last one."""

    name = "sink"

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=SINK_QUEUE)
        self._thread = threading.Thread(target=self._run, name=f"ssd-rt-{self.name}", daemon=True)
        self._closed = False
        self.error: BaseException | None = None
        self._thread.start()

    def put(self, result: Result) -> None:
        if self._closed:  # removed from a running pipeline and closed: a late frame is ignored
            return
        if result.frame.repeat:  # the window shows it again; a file must not hold it twice
            return
        if self.error is not None:
            raise self.error
        while self._thread.is_alive():  # waits when behind: backpressure, never a drop
            try:
                self._queue.put(result, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def close(self, timeout: float = 5.0) -> None:
        if self._closed:
            return
        self._closed = True
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=POLL_S)
                break
            except queue.Full:
                continue
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            while (result := self._queue.get()) is not None:
                self.handle(result)
        except BaseException as err:  # reported to the pipeline on the next put / close
            self.error = err
        finally:
            try:
                self.finish()
            except BaseException as err:
                self.error = self.error or err

    def handle(self, result: Result) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        pass


def partial_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.partial{path.suffix}")


class VideoRecorder(ThreadedSink):
    """The annotated frames as an MP4 (mp4v) at the source's rate; opened on the first frame."""

    name = "recorder"

    def __init__(self, path: Path, fps: float, class_names: tuple[str, ...]) -> None:
        self.path = Path(path)
        self.fps = fps
        self.class_names = class_names
        self.writer: cv2.VideoWriter | None = None
        self.frames = 0
        super().__init__()

    def handle(self, result: Result) -> None:
        image = result.frame.image_bgr.copy()
        draw_detections(image, result.detections, self.class_names)
        if result.stats_lines:
            draw_text_lines(image, list(result.stats_lines))
        if self.writer is None:
            height, width = image.shape[:2]
            fourcc = cv2.VideoWriter_fourcc(*"mp4v")
            self.writer = cv2.VideoWriter(str(partial_path(self.path)), fourcc, self.fps,
                                          (width, height))  # fmt: skip
            if not self.writer.isOpened():
                raise ConfigError(f"cannot write a video to {self.path}")
            self.size = (width, height)
        if (image.shape[1], image.shape[0]) != self.size:  # a stream that changed resolution
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        self.frames += 1

    def finish(self) -> None:
        if self.writer is not None:
            self.writer.release()  # writes the index (moov atom): the file becomes playable
            os.replace(partial_path(self.path), self.path)


class JsonLinesWriter(ThreadedSink):
    """One JSON object per frame: {"frame", "time_s", "detections": [{label, score, box}]}."""

    name = "json-writer"

    def __init__(self, path: Path, class_names: tuple[str, ...]) -> None:
        self.path = Path(path)
        self.class_names = class_names
        self.file = open(self.path, "w", encoding="utf-8")
        self.t0: float | None = None
        self.lines = 0
        super().__init__()

    def handle(self, result: Result) -> None:
        if self.t0 is None:
            self.t0 = result.frame.captured_at
        d = result.detections
        row = {
            "frame": result.frame.index,
            "time_s": round(result.frame.captured_at - self.t0, 4),
            "detections": [
                {
                    "label": self.class_names[label - 1],
                    "score": round(score, 4),
                    "box_xyxy": [round(v, 1) for v in box],
                }
                for box, score, label in zip(
                    d.boxes_xyxy.tolist(), d.scores.tolist(), d.labels.tolist()
                )
            ],
        }
        self.file.write(json.dumps(row) + "\n")
        self.file.flush()  # a crash loses at most this line
        self.lines += 1

    def finish(self) -> None:
        self.file.close()


class LatestResult(Sink):
    """The newest result for a consumer that takes at its own pace (stale ones are skipped);
    the Qt windows use gui.bridge.ResultBridge, the same slot with a signal."""

    def __init__(self) -> None:
        self.slot = LatestSlot()

    def put(self, result: Result) -> None:
        self.slot.put(result)

    def take(self) -> Result | None:
        return self.slot.get(0)
