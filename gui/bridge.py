"""Where worker threads meet the Qt main thread: results, posted calls and log lines.

Workers never touch widgets. They call plain Python methods here, which emit Qt signals; the
receivers live in the main thread, so Qt queues each signal to the main thread's event loop
(AutoConnection across threads).

- `ResultBridge`: a pipeline sink. The inference thread puts results into a `Presenter`, which
  releases them at the spacing they were captured with (a batch of four file frames is shown
  frame by frame, not as one); `ready` is emitted on the main thread when one is due, by a
  single-shot timer the bridge re-arms, and `take()` gives it. The result holds its own numpy
  frame (the readers allocate a new array per frame) and the view copies it into a QImage, so
  no frame is torn or blank whatever the worker does next.
- `MainThreadCalls`: the `post` of a `RunSession` in a window: a callable posted from a
  background job runs on the main thread (the session's owner).
- `LogBridge`: the "ssd_rt" logger's warnings (a stream reconnecting) as a signal for the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal, pyqtSlot

from ssd_rt.redact import mask_credentials
from ssd_rt.video.frames import Result
from ssd_rt.video.presenter import Presenter
from ssd_rt.video.sinks import Sink


class ResultBridge(QObject, Sink):
    """A sink whose results come out on the main thread, paced: `ready` means `take()` has one.

    The inference thread only wakes the main thread when the presenter was empty (a queued
    signal), so a slow window never builds a backlog of signals; later results are announced
    by the timer when they fall due."""

    ready = pyqtSignal()
    _woken = pyqtSignal()

    def __init__(self) -> None:
        QObject.__init__(self)
        self.presenter = Presenter()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # 40 ms apart, not 5% late
        self._timer.timeout.connect(self.ready)
        self._woken.connect(self._arm, Qt.ConnectionType.QueuedConnection)

    def put(self, result: Result) -> None:  # inference thread
        if self.presenter.put(result):
            self._woken.emit()

    def take(self) -> Result | None:  # main thread
        result = self.presenter.take()
        self._arm()
        return result

    def take_newest(self) -> Result | None:  # main thread: the run ended, its last frame now
        self._timer.stop()
        return self.presenter.take_newest()

    def clear(self) -> None:  # main thread: a new run; what the old one left is not shown
        self.presenter.clear()
        self._timer.stop()

    @pyqtSlot()
    def _arm(self) -> None:  # main thread
        wait_s = self.presenter.wait_s()
        if wait_s is not None:
            self._timer.start(round(wait_s * 1000))


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
