"""One line above the video for errors and notices, with a button to dismiss it."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from ssd_rt.redact import mask_credentials

MESSAGE_STYLES = {"error": "background:#b3261e;color:white;padding:4px",
                  "notice": "background:#f2c94c;color:black;padding:4px"}  # fmt: skip


class MessageBar(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("×")
        close.setFixedWidth(28)
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.kind = ""
        self.hide()

    def show_text(self, text: str, kind: str) -> None:
        self.kind = kind
        self.label.setText(mask_credentials(text))  # whatever reported it, no password shown
        self.label.setStyleSheet(MESSAGE_STYLES[kind])
        self.show()

    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()
