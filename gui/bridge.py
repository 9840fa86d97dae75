"""Where worker threads meet the Qt main thread: results, posted calls and log lines.

Workers never touch widgets. They call plain Python methods here, which emit Qt signals; the
receivers live in the main thread, so Qt queues each signal to the main thread's event loop
(AutoConnection across threads).

- `ResultBridge`: a pipeline sink. The inference thread puts results into a newest-only slot and
  emits `arrived` only when the slot was empty, so a slow window never builds a backlog of
  signals; the main thread takes the newest result. The result holds its own numpy frame (the
  readers allocate a new array per frame) and the view copies it into a QImage, so no frame is
  torn or blank whatever the worker does next.
- `MainThreadCalls`: the `post` of a `RunSession` in a window: a callable posted from a
  background job runs on the main thread (the session's owner).
- `LogBridge`: the "ssd_rt" logger's warnings (a stream reconnecting) as a signal for the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PyQt6.QtCore import QObject, Qt, pyqtSignal, pyqtSlot

from ssd_rt.redact import mask_credentials
from ssd_rt.video.frames import Result
from ssd_rt.video.sinks import LatestResult


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


class MainThreadCalls(QObject):
    """`post(call)` from any thread runs `call()` on the thread this object lives in.

    The receiver is this object's own slot with an explicit queued connection: a lambda as the
    receiver gets a PyQt proxy object whose thread and lifetime are PyQt's choice, and a posted
    call must never run on the worker thread or be lost with a proxy."""

    _posted = pyqtSignal(object)

    def __init__(self) -> None:
        super().__init__()
        self._posted.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def post(self, call: Callable[[], None]) -> None:  # any thread
        self._posted.emit(call)

    @pyqtSlot(object)
    def _run(self, call: Callable[[], None]) -> None:  # this object's thread
        call()


class LogBridge(QObject):
    """`handler` goes on a logger; each warning it gets becomes a `line` signal."""

    line = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        bridge = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:  # any thread
                bridge.line.emit(mask_credentials(record.getMessage()))

        self.handler = Handler(logging.WARNING)
