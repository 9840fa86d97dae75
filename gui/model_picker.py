"""The toolbar's model list: models found in the engines folders, "coco" until it is converted,
and "Other model…". It emits what the user picked; the window loads it."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QComboBox


class ModelPicker(QComboBox):
    picked = pyqtSignal(object)  # a Path, "coco", or None for "Other model…"

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumContentsLength(18)
        self.activated.connect(lambda index: self.picked.emit(self._choice(index)))

    def _choice(self, index: int):
        data = self.itemData(index)
        return None if data is None else (data if data == "coco" else Path(data))

    def fill(self) -> None:
        from ssd_rt.model_search import available_models

        self.clear()
        models = available_models()
        for path in models:
            self.addItem(path.name, str(path))
        if not any(p.name == "coco.onnx" for p in models):  # converted on first use
            self.addItem("coco (torchvision COCO SSD300)", "coco")
        self.addItem("Other model…", None)

    def show_loaded(self, path: Path | str) -> None:
        """Select the loaded model, adding it first when the list does not have it (a served
        triton:// model is shown by its URL, masked)."""
        from ssd_rt.triton.url import model_label

        index = self.findData(str(path))
        if index < 0:
            self.insertItem(0, model_label(path), str(path))
            index = 0
        self.setCurrentIndex(index)
