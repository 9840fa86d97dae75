"""Play/pause, step, the seek slider with the time, and the playback pace.

Emits intent signals only; the window tells the source. The slider seeks while it is dragged
(the source keeps only the newest pending seek) and follows the frames shown otherwise.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

PACES = ("file rate", "max speed")  # realtime True / False


def clock(seconds: float) -> str:
    """62.5 -> "01:02.5"; hours when there are some."""
    minutes, secs = divmod(max(seconds, 0.0), 60)
    hours, minutes = divmod(int(minutes), 60)
    return (f"{hours}:" if hours else "") + f"{minutes:02d}:{secs:04.1f}"


class Transport(QWidget):
    play_toggled = pyqtSignal()
    step_requested = pyqtSignal()
    seek_requested = pyqtSignal(int)  # frame index
    realtime_changed = pyqtSignal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.play = QPushButton("Play")
        self.step = QPushButton("Step")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrow keys stay window shortcuts
        self.time = QLabel(clock(0))
        self.pace = QComboBox()
        self.pace.addItems(PACES)
        for widget in (self.play, self.step, self.pace):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for widget, stretch in ((self.play, 0), (self.step, 0), (self.slider, 1),
                                (self.time, 0), (self.pace, 0)):  # fmt: skip
            layout.addWidget(widget, stretch)
        self.fps = 30.0
        self.frames = 0
        self.play.clicked.connect(self.play_toggled)
        self.step.clicked.connect(self.step_requested)
        self.slider.valueChanged.connect(self._slider_moved)
        self.pace.currentIndexChanged.connect(lambda i: self.realtime_changed.emit(i == 0))
        self.set_source(seekable=False, frames=0, fps=None)

    def set_source(self, *, seekable: bool, frames: int, fps: float | None) -> None:
        """A new source: files get the slider and stepping, live ones only play/pause."""
        self.fps = fps or 30.0
        self.frames = frames
        self.slider.setEnabled(seekable and frames > 0)
        self.step.setEnabled(seekable)
        self.pace.setEnabled(seekable)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(frames - 1, 0))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.set_position(0)

    def set_position(self, index: int) -> None:
        """The frame on screen (not a seek)."""
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        total = f" / {clock(self.frames / self.fps)}" if self.frames else ""
        self.time.setText(clock(index / self.fps) + total)

    def set_playing(self, playing: bool) -> None:
        self.play.setText("Pause" if playing else "Play")

    def _slider_moved(self, index: int) -> None:
        self.seek_requested.emit(index)
