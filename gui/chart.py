"""A small live chart: display FPS and inference ms over the last seconds, painted with QPainter.

The window adds one sample per statistics tick; the chart keeps the last `capacity` and scales
each series to its own maximum (the two have different units), with the newest values as text.
"""

from __future__ import annotations

import math
from collections import deque

from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QPainter, QPen, QPolygonF
from PyQt6.QtWidgets import QWidget

FPS_COLOUR = QColor(80, 200, 120)
MS_COLOUR = QColor(240, 170, 60)


class LiveChart(QWidget):
    def __init__(self, capacity: int = 40) -> None:
        super().__init__()
        self.fps: deque[float] = deque(maxlen=capacity)
        self.infer_ms: deque[float] = deque(maxlen=capacity)
        self.capacity = capacity
        self.setMinimumSize(200, 80)

    def add(self, fps: float, infer_ms: float) -> None:
        self.fps.append(fps if math.isfinite(fps) else 0.0)
        self.infer_ms.append(infer_ms if math.isfinite(infer_ms) else 0.0)
        self.update()

    def clear(self) -> None:
        self.fps.clear()
        self.infer_ms.clear()
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(25, 25, 25))
        text_h = painter.fontMetrics().height()
        area = QRectF(4, text_h + 4, self.width() - 8, self.height() - text_h - 8)
        for values, colour in ((self.fps, FPS_COLOUR), (self.infer_ms, MS_COLOUR)):
            self._line(painter, area, values, colour)
        fps = self.fps[-1] if self.fps else 0.0
        ms = self.infer_ms[-1] if self.infer_ms else 0.0
        painter.setPen(FPS_COLOUR)
        painter.drawText(QRectF(4, 2, area.width() / 2, text_h), Qt.AlignmentFlag.AlignLeft,
                         f"{fps:.1f} FPS")  # fmt: skip
        painter.setPen(MS_COLOUR)
        painter.drawText(QRectF(area.width() / 2, 2, area.width() / 2, text_h),
                         Qt.AlignmentFlag.AlignRight, f"inference {ms:.1f} ms")  # fmt: skip
        painter.end()

    def _line(self, painter: QPainter, area: QRectF, values, colour: QColor) -> None:
        if len(values) < 2:
            return
        top = max(values) * 1.1 or 1.0
        dx = area.width() / (self.capacity - 1)
        start = self.capacity - len(values)  # newest at the right edge
        points = [QPointF(area.x() + (start + i) * dx, area.bottom() - v / top * area.height())
                  for i, v in enumerate(values)]  # fmt: skip
        painter.setPen(QPen(colour, 1.5))
        painter.drawPolyline(QPolygonF(points))
