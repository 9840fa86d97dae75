"""Consumers of results: file sinks (the JSON-lines writer here, the recorder in recorder.py)
and the newest-result slot of a window.

Each file-writing sink owns a thread and a bounded queue: the inference thread hands a result
over and goes on; when a sink falls behind, the hand-over waits (every frame of a file is
written, none is dropped). `close()` writes what is queued and finalizes the file.

Files never replace what the user had: the CLI refuses an existing path (without --overwrite),
and every output is written to a file created exclusively beside it
(`NAME.<random>.partial.SUFFIX`, a name no user file can have) and renamed to its asked-for
name only once it is whole. So the asked-for name never holds an incomplete file: after a crash
or a full disk the partial file stays, named in the error, and holds everything written until
then (the recording is fragmented MP4 that plays up to its last second, the JSON lines end on a
whole line).
"""

from __future__ import annotations

import json
import os
import queue
import threading
from pathlib import Path

from ssd_rt.errors import OutputError, SSDRTError, error_line
from ssd_rt.files import create_partial, publish
from ssd_rt.video.frames import POLL_S, LatestSlot, Result

SINK_QUEUE = 16  # results waiting per sink
FINISH_S = 30.0  # longest wait for a sink to write what is queued and finish its file


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
        self.failed = False  # set before finish(): whether the output broke on the way
        self.error: BaseException | None = None  # after the thread: what the user is told
        self._thread.start()

    def put(self, result: Result) -> None:
        if self._closed:  # removed from a running pipeline and closed: a late frame is ignored
            return
        if result.frame.repeat:  # the window shows it again; a file must not hold it twice
            return
        while self._thread.is_alive():  # waits when behind: backpressure, never a drop
            try:
                self._queue.put(result, timeout=POLL_S)
                return
            except queue.Full:
                continue
        self._thread.join()  # ended on an error: `error` is set once it has finished
        raise self.error or OutputError(f"{self.name} stopped")

    def close(self, timeout: float = FINISH_S) -> None:
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
        error = None
        try:
            while (result := self._queue.get()) is not None:
                self.handle(result)
        except BaseException as err:  # reported to the pipeline on the next put / close
            error = err
        finally:
            self.failed = error is not None
            try:
                self.finish()
            except BaseException as err:
                error = error or err
            if error is not None:  # set once, as the user is told it
                self.error = self.failure(error)

    def handle(self, result: Result) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """After the last result; `self.failed` says whether the output broke on the way."""

    def failure(self, err: BaseException) -> BaseException:
        """The error a failed sink reports (once, after finish)."""
        return err


class FileSink(ThreadedSink):
    """A sink writing one file: to its exclusive partial file first (`create_partial`, here in
    the owner's thread so a folder that cannot be written is refused before the first frame),
    renamed to `path` by `finish()` only when the output is whole."""

    def __init__(self, path: Path, *, overwrite: bool = True) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.frames = 0  # written whole
        self.temp = create_partial(self.path)
        self.done = False  # renamed to `path`: the only state in which a command says "wrote"
        try:
            self.open_output()  # before the thread starts: a failure leaves no thread behind
        except BaseException:
            self.temp.unlink(missing_ok=True)
            raise
        super().__init__()

    def open_output(self) -> None:
        """Open what `handle` writes to (the partial file exists already)."""

    def finish(self) -> None:
        if self.failed:
            return  # keep the partial file: it holds what was written
        publish(self.temp, self.path, overwrite=self.overwrite)
        self.done = True

    def failure(self, err: BaseException) -> BaseException:
        if isinstance(err, SSDRTError):
            return err
        kept = ""
        if self.temp.exists():
            if self.frames:
                kept = f"; the first {self.frames} frames are in {self.temp}"
            else:
                self.temp.unlink()
        why = err.strerror if isinstance(err, OSError) and err.strerror else error_line(err)
        return OutputError(f"cannot write {self.path}: {why}{kept}")


class JsonLinesWriter(FileSink):
    """One JSON object per frame, always ending on a whole line:
    {"frame", where it is, "detections": [{label, score, box_xyxy}]}, where "where" is
    "pts_s" (position in the video, files and the demo in file mode), "file" (image folders)
    or "captured_unix_s" (wall clock at capture, live sources)."""

    name = "json-writer"

    def __init__(self, path: Path, class_names: tuple[str, ...], *,
                 overwrite: bool = True) -> None:  # fmt: skip
        self.class_names = class_names
        self._size = 0  # bytes of whole lines written
        super().__init__(path, overwrite=overwrite)

    def open_output(self) -> None:
        self._fd = os.open(self.temp, os.O_WRONLY | os.O_TRUNC)

    def handle(self, result: Result) -> None:
        frame, d = result.frame, result.detections
        row: dict = {"frame": frame.index}
        if frame.pts_s is not None:
            row["pts_s"] = round(frame.pts_s, 4)
        elif frame.file_name is not None:
            row["file"] = frame.file_name
        else:
            row["captured_unix_s"] = round(frame.captured_unix_s, 3)
        row["detections"] = [
            {"label": self.class_names[label - 1], "score": round(score, 4),
             "box_xyxy": [round(v, 1) for v in box]}
            for box, score, label in zip(d.boxes_xyxy.tolist(), d.scores.tolist(),
                                         d.labels.tolist())
        ]  # fmt: skip
        self._write_line((json.dumps(row) + "\n").encode())
        self.frames += 1

    def _write_line(self, data: bytes) -> None:
        """One line per write() call, so a crash (even SIGKILL) cuts at most this line; a
        failed write (a full disk) is cut back to the last whole line before it is reported."""
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            os.ftruncate(self._fd, self._size)
            raise
        self._size += len(data)

    def finish(self) -> None:
        os.close(self._fd)
        super().finish()


class LatestResult(Sink):
    """The newest result for a consumer that takes at its own pace (stale ones are skipped);
    the Qt windows use gui.bridge.ResultBridge, the same slot with a signal."""

    def __init__(self) -> None:
        self.slot = LatestSlot()

    def put(self, result: Result) -> None:
        self.slot.put(result)

    def take(self) -> Result | None:
        return self.slot.get(0)
