"""The video widget: the newest frame, scaled to fit, with boxes, labels and stats painted over.

Workers never touch it: the main thread takes the newest result from a `ResultBridge`
(gui/bridge.py) when its queued signal arrives, and repaints. The frame's pixels are copied
(converted to BGRA into the view's own buffer), so the worker's numpy buffer may be reused or
freed at once: no torn or blank frames.
"""

from __future__ import annotations

import cv2
import numpy as np
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PyQt6.QtWidgets import QWidget

from ssd_rt.video.draw import class_colour_bgr
from ssd_rt.video.frames import Result


def to_qimage(image_bgr: np.ndarray) -> QImage:
    """BGR uint8 [H, W, 3] -> a QImage that owns its pixels."""
    image_bgr = np.ascontiguousarray(image_bgr)
    height, width = image_bgr.shape[:2]
    view = QImage(image_bgr.data, width, height, image_bgr.strides[0],
                  QImage.Format.Format_BGR888)  # fmt: skip
    return view.copy()  # detach from the numpy buffer


def class_qcolor(label: int) -> QColor:
    b, g, r = class_colour_bgr(label)
    return QColor(r, g, b)


def paint_detections(painter: QPainter, target: QRectF, frame_width: int, detections,
                     class_names: tuple[str, ...], show_labels: bool = True,
                     show_scores: bool = True) -> None:  # fmt: skip
    """Boxes (frame pixels) drawn into `target`, where a frame `frame_width` wide is shown;
    labels and scores on a band in the class colour."""
    d = detections
    scale = target.width() / frame_width  # the aspect ratio is kept: one scale for x and y
    font = QFont(painter.font())
    font.setPointSizeF(max(8.0, target.height() / 50))
    painter.setFont(font)
    metrics = painter.fontMetrics()
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for box, score, label in zip(d.boxes_xyxy.tolist(), d.scores.tolist(), d.labels.tolist()):
        colour = class_qcolor(label)
        x1, y1 = target.x() + box[0] * scale, target.y() + box[1] * scale
        rect = QRectF(x1, y1, (box[2] - box[0]) * scale, (box[3] - box[1]) * scale)
        painter.setPen(QPen(colour, 2))
        painter.drawRect(rect)
        parts = [class_names[label - 1]] if show_labels else []
        parts += [f"{score:.2f}"] if show_scores else []
        if parts:
            text = " ".join(parts)
            w, h = metrics.horizontalAdvance(text) + 6, metrics.height()
            band = QRectF(x1, max(y1 - h, target.y()), w, h)
            painter.fillRect(band, colour)
            painter.setPen(QColor(0, 0, 0))
            painter.drawText(band, Qt.AlignmentFlag.AlignCenter, text)


def annotated_image(result: Result, class_names: tuple[str, ...], *, show_labels: bool = True,
                    show_scores: bool = True) -> QImage:  # fmt: skip
    """The frame at its own size with its boxes painted on (a snapshot)."""
    image = to_qimage(result.frame.image_bgr).convertToFormat(QImage.Format.Format_RGB32)
    painter = QPainter(image)
    paint_detections(painter, QRectF(0, 0, image.width(), image.height()), image.width(),
                     result.detections, class_names, show_labels, show_scores)  # fmt: skip
    painter.end()
    return image


class VideoView(QWidget):
    def __init__(self, class_names: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_names = class_names
        self.image: QImage | None = None
        self.pixels: np.ndarray | None = None  # [H, W, 4] BGRA: what `image` shows, reused
        self.result: Result | None = None
        self.stats_lines: tuple[str, ...] = ()
        self.show_labels = True
        self.show_scores = True
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def show_result(self, result: Result, stats_lines: tuple[str, ...] = ()) -> None:
        """Take the frame (its pixels are copied: the worker may reuse its buffer) and repaint.

        The copy is a BGR -> BGRA conversion into one buffer this view reuses, wrapped as a
        Format_RGB32 QImage (B, G, R, 255 in memory on little-endian machines): the format
        Qt's raster engine paints without converting, where BGR888 was converted on every
        paint. Reusing the buffer (only this thread reads it, when it paints) also spares
        the page faults of two fresh 8 MB allocations per 1080p frame."""
        frame = result.frame.image_bgr
        height, width = frame.shape[:2]
        if self.pixels is None or self.pixels.shape[:2] != (height, width):
            self.pixels = np.empty((height, width, 4), np.uint8)
        cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=self.pixels)
        self.image = QImage(self.pixels.data, width, height, self.pixels.strides[0],
                            QImage.Format.Format_RGB32)  # fmt: skip
        self.result = result
        self.stats_lines = stats_lines
        self.update()

    def frame_rect(self) -> QRectF:
        """Where the frame is drawn: scaled to fit, aspect kept, centred."""
        if self.image is None:
            return QRectF()
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if self.image is not None:
            target = self.frame_rect()
            painter.drawImage(target, self.image)
            self._paint_boxes(painter, target)
        self._paint_stats(painter)
        painter.end()

    def _paint_boxes(self, painter: QPainter, target: QRectF) -> None:
        paint_detections(painter, target, self.image.width(), self.result.detections,
                         self.class_names, self.show_labels, self.show_scores)  # fmt: skip

    def _paint_stats(self, painter: QPainter) -> None:
        if not self.stats_lines:
            return
        metrics = painter.fontMetrics()
        y = 6
        for line in self.stats_lines:
            w, h = metrics.horizontalAdvance(line) + 10, metrics.height() + 4
            painter.fillRect(QRectF(6, y, w, h), QColor(0, 0, 0, 170))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(QRectF(11, y, w, h), Qt.AlignmentFlag.AlignVCenter, line)
            y += h + 2
