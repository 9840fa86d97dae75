"""The `ssd-rt` window: the video view of a running pipeline, closed by the user or at the end.

    viewer = Viewer(class_names)      # viewer.results: the display of a RunSession
    session.displays = (viewer.results,); session.start(sinks)
    viewer.run(session)               # Qt event loop until the window closes or the run ends

The main thread only paints: the inference thread hands results to a `ResultBridge` (as in the
player, `ssd-rt-gui`), which releases them at their capture spacing; the window paints each one
as it falls due (when it is behind, the newest due one: it never lags behind the video) and
counts it as displayed for the latency figures.
A signal (Ctrl-C, SIGTERM, SIGHUP: the command's StopSignals set `stop`) closes the window like
the close button, seen by the same timer that watches for the end (the timer also gives Python
the moments it needs to run a signal handler inside Qt's loop); closing the window stops the
pipeline.
"""

from __future__ import annotations

import threading

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication, QMainWindow

from gui.bridge import ResultBridge
from gui.video_view import VideoView
from ssd_rt.video.stats import stats_lines

END_CHECK_MS = 50  # how often the window looks whether the run has ended


class Viewer:
    def __init__(self, class_names: tuple[str, ...], title: str = "ssd-rt") -> None:
        self.app = QApplication.instance() or QApplication([])
        self.results = ResultBridge()
        self.window = QMainWindow()
        self.window.setWindowTitle(title)
        self.view = VideoView(class_names)
        self.window.setCentralWidget(self.view)
        self.window.resize(960, 540)
        self.timer = QTimer()
        self.timer.setInterval(END_CHECK_MS)
        self.shown = 0

    def run(self, session, *, close_at_end: bool = True,
            stop: threading.Event | None = None) -> None:  # fmt: skip
        """Paint the results of `session`'s running pipeline (a RunSession whose displays are
        `self.results`) until the window closes, the run ends or `stop` is set; then stop the
        run."""
        pipeline = session.pipeline

        def show() -> None:
            paint(self.results.take())

        def paint(result) -> None:
            if result is not None and session.accept(result):
                self.view.show_result(result, stats_lines(pipeline.stats.snapshot(), display=True))
                self.shown += 1

        def check_end() -> None:
            if stop is not None and stop.is_set():
                self.window.close()
            elif pipeline.done and close_at_end:
                paint(self.results.take_newest())  # the last frame, due or not
                self.window.close()

        self.results.ready.connect(show)
        self.timer.timeout.connect(check_end)
        self.app.lastWindowClosed.connect(self.app.quit)
        try:
            self.window.show()
            self.timer.start()
            self.app.exec()
        finally:
            self.timer.stop()
            pipeline.stop()
