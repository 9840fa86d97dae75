"""YOLO text layout: images/ and labels/ folders, one `class cx cy w h` line per object.

Coordinates are fractions of the image; class indices are 0-based into the names list. The names
come from a `data.yaml` (Ultralytics style: `names` as a list or {index: name}, optional `path`
and `train`/`val`/`test` image folders) or from `classes.txt` beside images/. A label file is
found by replacing the last `images` folder of the image's path with `labels` and the extension
with `.txt`; an image without a label file, or with an empty one, is a negative sample.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ssd_rt.data.sample import (
    DataReport,
    Record,
    check_boxes,
    image_size,
    load_sample,
)
from ssd_rt.errors import DataError

log = logging.getLogger("ssd_rt")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def read_names(root: Path) -> tuple[tuple[str, ...], dict]:
    """Class names and the parsed data.yaml ({} without one) of a YOLO folder."""
    yaml_path = next((root / n for n in ("data.yaml", "data.yml") if (root / n).is_file()), None)
    if yaml_path is not None:
        import yaml

        try:
            spec = yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise DataError(f"{yaml_path}{line}: malformed YAML") from None
        names = spec.get("names") if isinstance(spec, dict) else None
        if isinstance(names, dict):
            try:
                names = [names[i] for i in range(len(names))]
            except KeyError:
                raise DataError(f"{yaml_path}: names must be indexed 0..{len(names) - 1}") from None
        if not isinstance(names, list) or not names:
            raise DataError(f"{yaml_path}: needs a 'names' list of class names")
        return tuple(str(n) for n in names), spec
    classes_txt = root / "classes.txt"
    if classes_txt.is_file():
        names = [line.strip() for line in classes_txt.read_text().splitlines() if line.strip()]
        if names:
            return tuple(names), {}
    raise DataError(f"{root}: no data.yaml or classes.txt naming the classes")


def label_path(image_path: Path) -> Path:
    parts = list(image_path.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    raise DataError(f"{image_path}: not inside an 'images' folder, so it has no labels folder")


def parse_label_file(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """A label file -> (class indices [N] 0-based, boxes [N, 4] cx cy w h fractions)."""
    if not path.is_file():
        return np.zeros(0, np.int64), np.zeros((0, 4), np.float32)
    classes, boxes = [], []
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 5:
            raise DataError(f"{path}:{line_no}: expected 'class cx cy w h', got {line.strip()!r}")
        try:
            cls = int(fields[0])
            values = [float(v) for v in fields[1:]]
        except ValueError:
            raise DataError(f"{path}:{line_no}: not numbers: {line.strip()!r}") from None
        if not 0 <= cls < num_classes:
            raise DataError(f"{path}:{line_no}: class {cls} is not within 0..{num_classes - 1}")
        classes.append(cls)
        boxes.append(values)
    return np.array(classes, np.int64), np.array(boxes, np.float32).reshape(-1, 4)


class YoloDataset:
    """A YOLO folder's `split` (train/val/test from data.yaml; without one, DIR/images)."""

    def __init__(
        self, root: str | Path, split: str = "train", classes: Sequence[str] | None = None
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"YOLO folder not found: {self.root}")
        names, spec = read_names(self.root)
        image_dir = self._image_dir(spec, split)
        images = sorted(p for p in image_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        # Keep the file's class order unless a model's list asks for another.
        self.class_names = tuple(classes) if classes is not None else names
        label_of = {
            i: self.class_names.index(n) + 1 for i, n in enumerate(names) if n in self.class_names
        }

        self.report = DataReport()
        self.records: list[Record] = []
        for index, image_path in enumerate(images):
            cls, cxcywh = parse_label_file(label_path(image_path), len(names))
            known = np.array([c in label_of for c in cls], dtype=bool)
            self.report.drop("class not in the class list", int((~known).sum()))
            cls, cxcywh = cls[known], cxcywh[known]
            height, width = image_size(image_path)
            boxes = np.concatenate(
                [cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1
            )
            boxes *= np.array([width, height, width, height], dtype=np.float32)
            keep = check_boxes(boxes, height, width, self.report, image_path.name)
            labels = np.array([label_of[c] for c in cls], dtype=np.int64)[keep]
            self.report.count_image(labels)
            self.records.append(
                Record(image_path, index, image_path.stem, boxes[keep], labels,
                       np.zeros(len(labels), dtype=bool), (height, width))
            )  # fmt: skip
        if self.report.changed:
            log.warning("YOLO: %s", self.report.one_line())

    def _image_dir(self, spec: dict, split: str) -> Path:
        if split in spec:
            base = Path(spec.get("path") or self.root)
            base = base if base.is_absolute() else self.root / base
            entry = spec[split]
            if not isinstance(entry, str):
                raise DataError(f"{self.root}/data.yaml: '{split}' must be one image folder")
            image_dir = base / entry
        elif any(k in spec for k in ("train", "val", "test")):
            raise DataError(f"{self.root}/data.yaml has no '{split}' split")
        elif (self.root / "images" / split).is_dir():  # images/train, images/val, ...
            image_dir = self.root / "images" / split
        else:
            image_dir = self.root / "images"
        if not image_dir.is_dir():
            raise DataError(f"YOLO image folder not found: {image_dir}")
        return image_dir

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int):
        return load_sample(self.records[index])
