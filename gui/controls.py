"""The detector's live controls: thresholds, the class filter, what the boxes are labelled with.

The panel only emits intent signals; the window applies them (`Detector.configure`, the view's
flags), so each takes effect on the next frame: widgets emit, a window wires.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QPixmap
from PyQt6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gui.video_view import class_qcolor

SLIDER_STEPS = 100  # the threshold sliders move in steps of 0.01


def colour_icon(colour: QColor, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(colour)
    return QIcon(pixmap)


class Threshold(QWidget):
    """A slider and a spin box showing one value in [low, high] (0.01 steps)."""

    changed = pyqtSignal(float)

    def __init__(self, value: float, low: float, high: float) -> None:
        super().__init__()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(low * SLIDER_STEPS), round(high * SLIDER_STEPS))
        self.spin = QDoubleSpinBox()
        self.spin.setRange(low, high)
        self.spin.setSingleStep(0.01)
        self.spin.setDecimals(2)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(lambda v: self.set_value(v / SLIDER_STEPS))
        self.spin.valueChanged.connect(self.set_value)
        self._value = None
        self.set_value(value)

    def value(self) -> float:
        return self._value

    def set_value(self, value: float) -> None:
        value = round(value, 2)
        if value == self._value:
            return
        self._value = value
        for widget, shown in ((self.slider, round(value * SLIDER_STEPS)), (self.spin, value)):
            widget.blockSignals(True)
            widget.setValue(shown)
            widget.blockSignals(False)
        self.changed.emit(value)


class DetectionControls(QWidget):
    thresholds_changed = pyqtSignal(float, float)  # score threshold, NMS IoU
    classes_changed = pyqtSignal(object)  # tuple of class names shown, None: all
    labelling_changed = pyqtSignal(bool, bool)  # show labels, show scores

    def __init__(self, conf: float = 0.4, iou: float = 0.45) -> None:
        super().__init__()
        # A score of 0 would keep every prior; NMS IoU 0 or 1 are degenerate (PostprocessConfig).
        self.conf = Threshold(conf, 0.01, 1.0)
        self.iou = Threshold(iou, 0.05, 0.95)
        self.classes = QListWidget()
        self.classes.setObjectName("classes")
        self.labels = QCheckBox("class labels")
        self.scores = QCheckBox("scores")
        for box in (self.labels, self.scores):
            box.setChecked(True)
            box.toggled.connect(self._labelling)
        form = QFormLayout()
        form.addRow("confidence", self.conf)
        form.addRow("NMS IoU", self.iou)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("classes shown"))
        layout.addWidget(self.classes, 1)
        layout.addWidget(self.labels)
        layout.addWidget(self.scores)
        self.conf.changed.connect(self._thresholds)
        self.iou.changed.connect(self._thresholds)
        self.classes.itemChanged.connect(self._classes)

    def set_class_names(self, names: tuple[str, ...]) -> None:
        """A model's classes, all shown, each with its box colour."""
        self.classes.blockSignals(True)
        self.classes.clear()
        for label, name in enumerate(names, start=1):
            item = QListWidgetItem(colour_icon(class_qcolor(label)), name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.classes.addItem(item)
        self.classes.blockSignals(False)

    def set_class_shown(self, name: str, shown: bool) -> None:
        item = self.classes.findItems(name, Qt.MatchFlag.MatchExactly)[0]
        item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)

    def shown_classes(self) -> tuple[str, ...] | None:
        items = [self.classes.item(i) for i in range(self.classes.count())]
        shown = tuple(i.text() for i in items if i.checkState() == Qt.CheckState.Checked)
        return None if len(shown) == len(items) else shown

    def _thresholds(self) -> None:
        self.thresholds_changed.emit(self.conf.value(), self.iou.value())

    def _classes(self) -> None:
        self.classes_changed.emit(self.shown_classes())

    def _labelling(self) -> None:
        self.labelling_changed.emit(self.labels.isChecked(), self.scores.isChecked())
