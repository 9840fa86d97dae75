"""What every loader yields, and the one place where annotation boxes are checked.

Loaders parse all annotations when they are built (so a malformed file fails before training
starts and `ssd-rt-data check` needs no image decoding) into `Record`s, and decode an image only
in `__getitem__`, where it becomes a `Sample`:

    image         # [3, H, W] uint8 RGB
    boxes_xyxy    # [N, 4] float32, pixels of this image; continuous coordinates, 0 at the left edge
    labels        # [N] int64, 1..C (0 is background and never appears)
    difficult     # [N] bool; VOC "difficult" (ignored by VOC scoring), COCO never sets it
    image_id      # int: the COCO image id for COCO data, else the index in the data set
    name          # str: the file stem, for reports
    orig_size     # (height, width) of the image as stored
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from ssd_rt.errors import DataError


@dataclass(frozen=True)
class Sample:
    image: torch.Tensor
    boxes_xyxy: torch.Tensor
    labels: torch.Tensor
    difficult: torch.Tensor
    image_id: int
    name: str
    orig_size: tuple[int, int]


@dataclass(frozen=True)
class Record:
    """One image's annotations, parsed and checked, before its pixels are decoded."""

    image_path: Path
    image_id: int
    name: str
    boxes_xyxy: np.ndarray  # [N, 4] float32 pixels
    labels: np.ndarray  # [N] int64 1..C
    difficult: np.ndarray  # [N] bool
    size: tuple[int, int]  # (height, width): from the annotation, else the image file's header


@dataclass
class DataReport:
    """What the loader changed or left out, counted, so it is reported once and never silently."""

    images: int = 0
    negatives: int = 0  # images with no object left: valid background-only samples
    boxes_per_class: Counter = field(default_factory=Counter)
    clipped: int = 0  # boxes partly outside the image, clipped to it
    dropped: Counter = field(default_factory=Counter)  # reason -> count
    boxes: list = field(default_factory=list)  # one line per box clipped or dropped for its shape

    def drop(self, reason: str, count: int = 1) -> None:
        if count:
            self.dropped[reason] += count

    def count_image(self, labels: np.ndarray) -> None:
        """One image with its kept labels (none: a negative sample)."""
        self.images += 1
        self.negatives += int(len(labels) == 0)
        self.boxes_per_class.update(np.asarray(labels).tolist())

    def merge(self, other: DataReport) -> None:
        self.images += other.images
        self.negatives += other.negatives
        self.boxes_per_class.update(other.boxes_per_class)
        self.clipped += other.clipped
        self.dropped.update(other.dropped)
        self.boxes += other.boxes

    @property
    def changed(self) -> bool:
        return bool(self.clipped or sum(self.dropped.values()))

    def summary(self, class_names: Sequence[str]) -> str:
        """Several lines: images, boxes per class, clipped and dropped boxes and why."""
        total = sum(self.boxes_per_class.values())
        lines = [f"images: {self.images} ({self.negatives} with no objects)", f"boxes: {total}"]
        width = max((len(n) for n in class_names), default=0)
        for label, name in enumerate(class_names, start=1):
            lines.append(f"  {name:<{width}}  {self.boxes_per_class.get(label, 0)}")
        lines.append(f"clipped to the image: {self.clipped}")
        dropped = sum(self.dropped.values())
        lines.append(f"dropped: {dropped}")
        for reason, count in sorted(self.dropped.items()):
            lines.append(f"  {reason}: {count}")
        if self.boxes:
            lines.append("boxes clipped or dropped for their coordinates:")
            lines += [f"  {line}" for line in self.boxes[:MAX_BOX_LINES]]
            if len(self.boxes) > MAX_BOX_LINES:
                lines.append(f"  ... and {len(self.boxes) - MAX_BOX_LINES} more")
        return "\n".join(lines)

    def one_line(self) -> str:
        """The short form logged when a data set is opened and something was changed."""
        parts = [f"{self.clipped} boxes clipped to the image"] if self.clipped else []
        parts += [f"{n} dropped ({reason})" for reason, n in sorted(self.dropped.items())]
        return "; ".join(parts)


MAX_BOX_LINES = 200  # per-box lines a summary lists (the counts cover every box)


def check_boxes(boxes_xyxy: np.ndarray, height: int, width: int, report: DataReport,
                where: str = "") -> np.ndarray:  # fmt: skip
    """Clip boxes to the image and return the mask of boxes to keep; counts go to `report`,
    and one line per box (`where`: the image's name) to `report.boxes`.

    A box with a NaN or infinite coordinate, zero or negative size, or entirely outside the
    image, is dropped; one partly outside is clipped. Each is counted and listed, never
    silent. Boxes must be [N, 4] float pixels.
    """
    keep = np.ones(len(boxes_xyxy), dtype=bool)
    if not len(boxes_xyxy):
        return keep
    finite = np.isfinite(boxes_xyxy).all(axis=1)
    x1, y1, x2, y2 = np.where(finite[:, None], boxes_xyxy, 0).T
    reasons = {
        "non-finite coordinates (NaN or inf)": ~finite,
        "zero or negative size": finite & ((x2 <= x1) | (y2 <= y1)),
    }
    reasons["outside the image"] = (~reasons["zero or negative size"] & finite
                                    & ((x2 <= 0) | (y2 <= 0) | (x1 >= width) | (y1 >= height)))
    for reason, mask in reasons.items():
        report.drop(reason, int(mask.sum()))
        keep &= ~mask
        report.boxes += [f"{where}: box {_box_text(b)} dropped: {reason}"
                         for b in boxes_xyxy[mask]]  # fmt: skip
    clipped = np.clip(boxes_xyxy, 0, [width, height, width, height]).astype(np.float32)
    was_clipped = keep & (clipped != boxes_xyxy).any(axis=1)
    report.clipped += int(was_clipped.sum())
    report.boxes += [f"{where}: box {_box_text(b)} clipped to the {width}x{height} image"
                     for b in boxes_xyxy[was_clipped]]  # fmt: skip
    boxes_xyxy[keep] = clipped[keep]
    return keep


def _box_text(box_xyxy: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:g}" for v in box_xyxy.tolist()) + "]"


def decode_rgb(path: Path) -> torch.Tensor:
    """Image file -> uint8 RGB [3, H, W] (OpenCV's libjpeg-turbo / libpng).

    The tensor is a channels-last view of the decoded [H, W, 3] array: no copy, and the layout
    the uint8 resize kernel is fastest on. torchvision.io's decoders are deprecated from 0.29.
    """
    image_hwc = cv2.imread(str(path), cv2.IMREAD_COLOR_RGB)
    if image_hwc is None:
        if not Path(path).is_file():
            raise DataError(f"image not found: {path}")
        raise DataError(f"cannot decode image {path}: not an image OpenCV can read")
    return torch.from_numpy(image_hwc).permute(2, 0, 1)


def load_sample(record: Record) -> Sample:
    """Decode the record's image and pair it with its boxes as tensors."""
    image = decode_rgb(record.image_path)
    height, width = int(image.shape[1]), int(image.shape[2])
    if (height, width) != record.size:
        raise DataError(
            f"{record.image_path}: the annotation says {record.size[1]}x{record.size[0]} pixels, "
            f"the image is {width}x{height}; fix the annotation's size"
        )
    boxes = record.boxes_xyxy
    return Sample(
        image=image,
        boxes_xyxy=torch.from_numpy(np.ascontiguousarray(boxes, dtype=np.float32)).reshape(-1, 4),
        labels=torch.from_numpy(np.asarray(record.labels, dtype=np.int64)),
        difficult=torch.from_numpy(np.asarray(record.difficult, dtype=bool)),
        image_id=record.image_id,
        name=record.name,
        orig_size=(height, width),
    )


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header only (PIL reads no pixels here)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
    except FileNotFoundError:
        raise DataError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"cannot read image {path}: {err}") from None
    return int(height), int(width)


def missing_images(records: Sequence[Record]) -> list[Path]:
    return [r.image_path for r in records if not r.image_path.is_file()]


def require_images(records: Sequence[Record], where: str) -> None:
    """A missing image is an error naming it (and how many more are missing)."""
    missing = missing_images(records)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(f"{where}: image not found: {missing[0]}{more}")
