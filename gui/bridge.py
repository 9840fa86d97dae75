"""Where worker threads meet the Qt main thread: results, background jobs and log lines.

Workers never touch widgets (DESIGN.md). They call plain Python methods here, which emit Qt
signals; the receivers live in the main thread, so Qt queues each signal to the main thread's
event loop (AutoConnection across threads).

- `ResultBridge`: a pipeline sink. The inference thread puts results into a newest-only slot and
  emits `arrived` only when the slot was empty, so a slow window never builds a backlog of
  signals; the main thread takes the newest result. The result holds its own numpy frame (the
  readers allocate a new array per frame) and the view copies it into a QImage, so no frame is
  torn or blank whatever the worker does next.
- `BackgroundJob`: runs one function in a thread (loading a model, building an engine, opening a
  stream, finishing a recording) and reports `done(value)` or `failed(message)`.
- `LogBridge`: the "ssd_rt" logger's warnings (a stream reconnecting) as a signal for the window.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PyQt6.QtCore import QObject, pyqtSignal

from ssd_rt.errors import SSDRTError
from ssd_rt.video.sinks import LatestResult, Result


class ResultBridge(QObject, LatestResult):
    """A `LatestResult` that also signals: `arrived` is emitted when a result lands in an empty
    slot (a replaced one was already announced); `take()` gives the newest."""

    arrived = pyqtSignal()

    def __init__(self) -> None:
        QObject.__init__(self)
        LatestResult.__init__(self)

    def put(self, result: Result) -> None:  # inference thread
        if not self.slot.put(result):
            self.arrived.emit()


def one_line(err: BaseException) -> str:
    """What the window shows for a failure: our errors as they are, others with their type."""
    if isinstance(err, SSDRTError):
        return str(err)
    return f"{type(err).__name__}: {err}".splitlines()[0]


class BackgroundJob(QObject):
    done = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, name: str, work: Callable[[], object]) -> None:
        super().__init__()
        self.name = name
        self._work = work
        self._thread = threading.Thread(target=self._run, name=f"ssd-rt-gui-{name}", daemon=True)

    def start(self) -> BackgroundJob:
        self._thread.start()
        return self

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            value = self._work()
        except BaseException as err:  # shown in the window, never a crash of the GUI
            self.failed.emit(one_line(err))
        else:
            self.done.emit(value)


class LogBridge(QObject):
    """`handler` goes on a logger; each warning it gets becomes a `line` signal."""

    line = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        bridge = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:  # any thread
                bridge.line.emit(record.getMessage())

        self.handler = Handler(logging.WARNING)
