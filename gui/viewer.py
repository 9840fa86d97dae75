"""The `ssd-rt` window: the video view of a running pipeline, closed by the user or at the end.

    viewer = Viewer(class_names)      # a sink (viewer.results) to hand to the Pipeline
    viewer.run(pipeline)              # Qt event loop until the window closes or the run ends

The main thread only paints: the inference thread hands results to a `ResultBridge` (the same
coalesced queued signal as the player, `ssd-rt-gui`), the window paints the newest one (stale
ones are skipped, so it never lags behind the video) and counts it as displayed for the latency
figures.
Ctrl-C closes the window like the close button (a Python exception inside a Qt slot would abort
the process), and closing the window stops the pipeline.
"""

from __future__ import annotations

import signal

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication, QMainWindow

from gui.bridge import ResultBridge
from gui.video_view import VideoView

END_CHECK_MS = 50  # how often the window looks whether the run has ended


def stats_lines(snapshot) -> tuple[str, ...]:
    return (
        f"display {snapshot.display_fps:.1f} FPS | inference {snapshot.inference_fps:.1f} FPS | "
        f"dropped {snapshot.dropped}",
        f"ms: {snapshot.stages_text()} | latency {snapshot.latency_ms:.0f}",
    )


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

    def run(self, pipeline, *, close_at_end: bool = True) -> None:
        def show() -> None:
            result = self.results.take()
            if result is not None:
                self.view.show_result(result, stats_lines(pipeline.stats.snapshot()))
                pipeline.stats.add_displayed(result.frame.captured_at)
                self.shown += 1

        def check_end() -> None:
            if pipeline.done and close_at_end:
                show()  # the last frame, if its signal is still queued
                self.window.close()

        self.results.arrived.connect(show)
        self.timer.timeout.connect(check_end)
        self.app.lastWindowClosed.connect(self.app.quit)
        previous = signal.signal(signal.SIGINT, lambda *_: self.window.close())
        try:
            self.window.show()
            self.timer.start()
            self.app.exec()
        finally:
            self.timer.stop()
            signal.signal(signal.SIGINT, previous)
            pipeline.stop()
