"""Small real data sets on disk (VOC, COCO, YOLO) for loader and evaluation tests, and what the
video tests need to read their files back and to serve them on loopback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import cv2

from ssd_rt.data.synthetic import random_scene


def write_jpeg(path: Path, height: int, width: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), random_scene(seed, height, width))
    return path


def voc_xml(filename: str, height: int, width: int, objects: list[tuple]) -> str:
    """objects: (name, xmin, ymin, xmax, ymax[, difficult]) in VOC 1-based integers."""
    body = []
    for name, *box in objects:
        difficult = box[4] if len(box) > 4 else 0
        x1, y1, x2, y2 = box[:4]
        body.append(
            f"<object><name>{name}</name><difficult>{difficult}</difficult><bndbox><xmin>{x1}"
            f"</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        )
    return (
        f"<annotation>\n<filename>{filename}</filename>\n<size><width>{width}</width>"
        f"<height>{height}</height><depth>3</depth></size>\n"
        + "\n".join(body)
        + "\n</annotation>\n"
    )


def make_voc(root: Path, images: dict[str, list[tuple]], split: str = "trainval",
             size: tuple[int, int] = (120, 160)) -> Path:  # fmt: skip
    """A VOC root with one JPEG (height x width = size) and XML per image id."""
    height, width = size
    for i, (image_id, objects) in enumerate(images.items()):
        write_jpeg(root / "JPEGImages" / f"{image_id}.jpg", height, width, seed=i)
        ann = root / "Annotations" / f"{image_id}.xml"
        ann.parent.mkdir(parents=True, exist_ok=True)
        ann.write_text(voc_xml(f"{image_id}.jpg", height, width, objects))
    main = root / "ImageSets" / "Main"
    main.mkdir(parents=True, exist_ok=True)
    (main / f"{split}.txt").write_text("\n".join(images) + "\n")
    return root


def make_coco(folder: Path, images: list[dict], annotations: list[dict],
              categories: list[dict]) -> tuple[Path, Path]:  # fmt: skip
    """instances.json + images/ with a JPEG per image entry (its height and width)."""
    image_dir = folder / "images"
    for i, image in enumerate(images):
        write_jpeg(image_dir / image["file_name"], image["height"], image["width"], seed=i)
    ann = folder / "instances.json"
    ann.write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": categories})
    )
    return ann, image_dir


def make_yolo(root: Path, labels: dict[str, str], names: list[str], split: str | None = None,
              size: tuple[int, int] = (100, 200), data_yaml: bool = True) -> Path:  # fmt: skip
    """images/[split/]NAME.jpg and labels/[split/]NAME.txt (text given), plus data.yaml."""
    sub = Path(split) if split else Path()
    for i, (name, text) in enumerate(labels.items()):
        write_jpeg(root / "images" / sub / f"{name}.jpg", *size, seed=i)
        if text is not None:
            label = root / "labels" / sub / f"{name}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text(text)
    if data_yaml:
        lines = [f"path: {root}"]
        if split:
            lines.append(f"{split}: images/{split}")
        lines.append("names: [" + ", ".join(names) + "]")
        (root / "data.yaml").write_text("\n".join(lines) + "\n")
    else:
        (root / "classes.txt").write_text("\n".join(names) + "\n")
    return root


def count_frames(path) -> int:
    """Frames a decoder gets out of a file (read until it says end; never the header count)."""
    capture = cv2.VideoCapture(str(path))
    n = 0
    while capture.read()[0]:
        n += 1
    capture.release()
    return n


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (tests host only on loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
