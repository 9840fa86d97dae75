"""PASCAL VOC: Annotations/*.xml, JPEGImages/*.jpg, ImageSets/Main/<split>.txt, one or more roots.

VOC pixel coordinates are 1-based and inclusive (a box from xmin=1 to xmax=500 covers the whole
width of a 500-pixel image). Samples use continuous coordinates with 0 at the left edge, so a VOC
box becomes (xmin - 1, ymin - 1, xmax, ymax). With this convention the plain IoU of `metrics.py`
equals the devkit's IoU with its "+1" widths on the original integers.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ssd_rt.data.sample import (
    DataReport,
    Record,
    check_boxes,
    image_size,
    load_sample,
    require_images,
)
from ssd_rt.errors import DataError

log = logging.getLogger("ssd_rt")

VOC_CLASSES = (  # the 20 PASCAL VOC classes, in the devkit's (alphabetical) order
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip


def _text(node: ET.Element, tag: str, path: Path) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise DataError(f"{path}: <{node.tag}> has no <{tag}>")
    return child.text.strip()


def _number(node: ET.Element, tag: str, path: Path) -> float:
    text = _text(node, tag, path)
    try:
        return float(text)
    except ValueError:
        raise DataError(f"{path}: <{tag}> is not a number: {text!r}") from None


def parse_annotation(path: Path) -> tuple[str, tuple[int, int] | None, list[tuple]]:
    """One VOC XML -> (image file name, (height, width) or None, [(name, box, difficult)])."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        line, column = err.position
        raise DataError(f"{path}:{line}: malformed XML (column {column}): {err.msg}") from None
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror}") from None
    filename = root.findtext("filename", default="").strip() or f"{path.stem}.jpg"
    size = None
    size_node = root.find("size")
    if size_node is not None:
        height, width = (
            int(_number(size_node, "height", path)),
            int(_number(size_node, "width", path)),
        )
        if height > 0 and width > 0:  # some tools write 0 x 0; the image header decides then
            size = (height, width)
    objects = []
    for obj in root.iter("object"):
        name = _text(obj, "name", path)
        bndbox = obj.find("bndbox")
        if bndbox is None:
            raise DataError(f"{path}: object {name!r} has no <bndbox>")
        xmin, ymin, xmax, ymax = (
            _number(bndbox, t, path) for t in ("xmin", "ymin", "xmax", "ymax")
        )
        difficult = obj.findtext("difficult", default="0").strip() in ("1", "true")
        objects.append((name, (xmin - 1.0, ymin - 1.0, xmax, ymax), difficult))
    return filename, size, objects


class VOCDataset:
    """VOC roots joined into one data set (e.g. VOC2007 + VOC2012 trainval).

    classes: a list of names (objects of other classes are dropped and counted), "voc" for the 20
    VOC classes, or None to discover them from the annotations (sorted, logged).
    """

    def __init__(
        self,
        roots: Sequence[str | Path],
        split: str,
        classes: Sequence[str] | str | None = None,
        *,
        keep_difficult: bool = True,
    ) -> None:
        self.roots = [Path(r) for r in roots]
        if not self.roots:
            raise DataError("a VOC data set needs at least one root folder")
        parsed = []  # (root, image id, filename, size, objects)
        for root in self.roots:
            for image_id, annotation in self._split_ids(root, split):
                parsed.append((root, image_id, *parse_annotation(annotation)))
        if classes is None:
            self.class_names = tuple(sorted({o[0] for p in parsed for o in p[4]}))
            log.info(
                "VOC: found %d classes: %s", len(self.class_names), ", ".join(self.class_names)
            )
        elif classes == "voc":
            self.class_names = VOC_CLASSES
        else:
            self.class_names = tuple(classes)
        label_of = {name: i for i, name in enumerate(self.class_names, start=1)}

        self.report = DataReport()
        self.records: list[Record] = []
        for index, (root, image_id, filename, size, objects) in enumerate(parsed):
            image_path = root / "JPEGImages" / filename
            known = [o for o in objects if o[0] in label_of]
            self.report.drop("class not in the class list", len(objects) - len(known))
            if not keep_difficult:
                self.report.drop("difficult", sum(o[2] for o in known))
                known = [o for o in known if not o[2]]
            if size is None:
                size = image_size(image_path)
            boxes = np.array([o[1] for o in known], dtype=np.float32).reshape(-1, 4)
            keep = check_boxes(boxes, size[0], size[1], self.report, filename)
            labels = np.array([label_of[o[0]] for o in known], dtype=np.int64)[keep]
            difficult = np.array([o[2] for o in known], dtype=bool)[keep]
            self.report.count_image(labels)
            self.records.append(
                Record(image_path, index, image_id, boxes[keep], labels, difficult, size)
            )
        require_images(self.records, f"VOC split {split!r}")
        if self.report.changed:
            log.warning("VOC: %s", self.report.one_line())

    @staticmethod
    def _split_ids(root: Path, split: str) -> list[tuple[str, Path]]:
        if not root.is_dir():
            raise DataError(f"VOC root not found: {root}")
        list_file = root / "ImageSets" / "Main" / f"{split}.txt"
        if not list_file.is_file():
            raise DataError(f"VOC split file not found: {list_file}")
        ids = []
        for line_no, line in enumerate(list_file.read_text().splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) > 2:  # "<id>" or the devkit's per-class "<id> <-1|0|1>"
                raise DataError(f"{list_file}:{line_no}: expected an image id, got {line!r}")
            annotation = root / "Annotations" / f"{fields[0]}.xml"
            if not annotation.is_file():
                raise DataError(f"{list_file}:{line_no}: annotation not found: {annotation}")
            ids.append((fields[0], annotation))
        return ids

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int):
        return load_sample(self.records[index])
