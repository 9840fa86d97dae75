"""Generated scenes: shapes on textured, noisy backgrounds, fully determined by a seed.

Four classes, each a shape with its own base colour (hue jittered, brightness and saturation
varied): the learning benchmark, the demo model and the tests need data that a slim network can
learn on a CPU in minutes, and a user can check by eye. Objects are 5%-80% of the frame (square
root of the box area over the frame side, log-uniform so small objects are common), with aspect
ratios from 1:3 to 3:1; later objects may cover earlier ones, but never more than half of one, so
every labelled object is clearly visible. Boxes are tight: every shape touches its box's 4 sides.

`SyntheticScenes` is a data set (same `Sample` as the file loaders); `MovingScenes` renders a
video of objects that move and bounce; `write_voc` and `write_video` write them out as files;
`random_scene(seed)` is one unlabelled camera-like frame (numerics tests, timings).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ssd_rt.data.sample import DataReport, Sample
from ssd_rt.errors import ConfigError

SHAPE_CLASSES = ("ellipse", "rectangle", "triangle", "star")
CLASS_HUES = (0, 60, 120, 30)  # OpenCV hue (0-180): red, green, blue, yellow
SPLIT_STREAMS = {"train": 0, "val": 1, "test": 2}  # independent random streams per split
MIN_SIZE, MAX_SIZE = 0.05, 0.80  # sqrt(box area) / frame side
MAX_ASPECT = 3.0
MAX_HIDDEN = 0.5  # a placed object may cover at most this fraction of an earlier one
SUBPIXEL = 4  # cv2 shift bits: polygon vertices at 1/16 pixel


@dataclass(frozen=True)
class SceneObject:
    label: int  # 1..4
    box_xyxy: tuple[float, float, float, float]  # pixels
    colour_bgr: tuple[int, int, int]


def _star_unit() -> np.ndarray:
    angles = np.arange(10) * math.pi / 5 - math.pi / 2
    radii = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
    pts = np.stack([np.cos(angles) * radii, np.sin(angles) * radii], axis=1)
    return (pts - pts.min(0)) / (pts.max(0) - pts.min(0))  # spans [0, 1] on both axes


def _cross_unit() -> np.ndarray:
    a, b = 0.35, 0.65  # arm width 30% of the box
    return np.array([[a, 0], [b, 0], [b, a], [1, a], [1, b], [b, b], [b, 1], [a, 1], [a, b],
                     [0, b], [0, a], [a, a]], dtype=np.float64)  # fmt: skip


UNIT_POLYGONS = {  # vertices in [0, 1]^2 that touch all four sides of the box
    2: np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64),
    3: np.array([[0.5, 0], [1, 1], [0, 1]], dtype=np.float64),
    4: _star_unit(),
    5: _cross_unit(),  # not a class of the generated scenes: the fine-tuning benchmark's new one
}


def draw_object(canvas: np.ndarray, obj: SceneObject, colour=None) -> None:
    """Fill the object's shape on `canvas` (BGR uint8, or a uint8 mask with a scalar colour)."""
    x1, y1, x2, y2 = obj.box_xyxy
    colour = obj.colour_bgr if colour is None else colour
    scale = 1 << SUBPIXEL
    # A box from x1 to x2 (continuous, 0 at the left edge) covers pixel columns x1 .. x2 - 1;
    # OpenCV draws in pixel indices, so shapes span x1 .. x2 - 1 (and y alike).
    if obj.label == 1:  # cv2.ellipse takes the centre and half axes
        centre = (round((x1 + x2 - 1) / 2 * scale), round((y1 + y2 - 1) / 2 * scale))
        axes = (round((x2 - x1 - 1) / 2 * scale), round((y2 - y1 - 1) / 2 * scale))
        cv2.ellipse(canvas, centre, axes, 0, 0, 360, colour, -1, cv2.LINE_AA, SUBPIXEL)
        return
    unit = UNIT_POLYGONS[obj.label]
    pts = unit * [x2 - x1 - 1, y2 - y1 - 1] + [x1, y1]
    cv2.fillPoly(canvas, [np.round(pts * scale).astype(np.int32)], colour, cv2.LINE_AA, SUBPIXEL)


def textured_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Low-saturation colour fields, texture noise and clutter lines, as float32 BGR."""
    coarse = rng.uniform(40, 200, size=(int(rng.integers(2, 6)), int(rng.integers(2, 6)), 3))
    grey = coarse.mean(axis=2, keepdims=True)
    coarse = grey + (coarse - grey) * 0.35  # muted colours: objects stand out by hue
    frame = cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 1, size=(max(2, height // 8), max(2, width // 8))).astype(np.float32)
    frame += cv2.resize(grain, (width, height), interpolation=cv2.INTER_LINEAR)[..., None] * 12
    for _ in range(int(rng.integers(2, 10))):  # clutter: edges that are not objects
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p2 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        shade = float(rng.uniform(30, 220))
        cv2.line(frame, p1, p2, (shade, shade, shade), int(rng.integers(1, 4)), cv2.LINE_AA)
    return frame


def object_colour(rng: np.random.Generator, label: int) -> tuple[int, int, int]:
    hue = (CLASS_HUES[label - 1] + rng.integers(-8, 9)) % 180
    hsv = np.array([[[hue, rng.integers(150, 256), rng.integers(130, 256)]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def sample_box(rng: np.random.Generator, height: int, width: int) -> tuple[float, ...]:
    side = math.sqrt(height * width)
    size = math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE))) * side
    aspect = math.exp(rng.uniform(-math.log(MAX_ASPECT), math.log(MAX_ASPECT)))  # w / h
    w, h = size * math.sqrt(aspect), size / math.sqrt(aspect)
    shrink = min(1.0, 0.98 * width / w, 0.98 * height / h)  # keep it inside the frame
    w, h = max(w * shrink, 4.0), max(h * shrink, 4.0)
    x1, y1 = rng.uniform(0, width - w), rng.uniform(0, height - h)
    return (float(x1), float(y1), float(x1 + w), float(y1 + h))


def layout_scene(
    rng: np.random.Generator, height: int, width: int, max_objects: int
) -> list[SceneObject]:
    """Objects for one scene, placed so none is more than MAX_HIDDEN covered by later ones."""
    wanted = int(rng.integers(1, max_objects + 1))
    owner = np.zeros((height, width), np.int16)  # which object is on top; 0 = background
    areas: list[int] = []
    objects: list[SceneObject] = []
    for _attempt in range(wanted * 4):
        if len(objects) == wanted:
            break
        label = int(rng.integers(1, len(SHAPE_CLASSES) + 1))
        obj = SceneObject(label, sample_box(rng, height, width), object_colour(rng, label))
        mask = np.zeros((height, width), np.uint8)
        draw_object(mask, obj, colour=255)
        covered = mask > 127
        if covered.sum() < 16:
            continue
        trial = owner.copy()
        trial[covered] = len(objects) + 1
        visible = np.bincount(trial.ravel(), minlength=len(objects) + 2)[1 : len(objects) + 1]
        if any(v < (1 - MAX_HIDDEN) * a for v, a in zip(visible, areas)):
            continue
        owner = trial
        areas.append(int(covered.sum()))
        objects.append(obj)
    return objects


def render_scene(rng: np.random.Generator, objects: list[SceneObject], background: np.ndarray):
    """Objects over a copy of `background` (float32 BGR), then blur and sensor noise -> uint8."""
    frame = background.copy()
    for obj in objects:
        draw_object(frame, obj)
    frame = cv2.GaussianBlur(frame, (0, 0), 0.7)
    frame += rng.normal(0.0, 5.0, size=frame.shape).astype(np.float32)  # sensor noise
    return np.clip(frame, 0, 255).astype(np.uint8)


def boxes_labels(objects: list[SceneObject]) -> tuple[np.ndarray, np.ndarray]:
    boxes = np.array([o.box_xyxy for o in objects], dtype=np.float32).reshape(-1, 4)
    return boxes, np.array([o.label for o in objects], dtype=np.int64)


class SyntheticScenes:
    """`count` generated scenes of one split; scene i depends only on (seed, split, i)."""

    class_names = SHAPE_CLASSES

    def __init__(
        self,
        count: int,
        seed: int = 0,
        split: str = "train",
        *,
        height: int = 300,
        width: int = 300,
        max_objects: int = 6,
    ) -> None:
        if count < 1:
            raise ConfigError(f"synthetic: count must be at least 1, got {count}")
        if split not in SPLIT_STREAMS:
            raise ConfigError(f"synthetic: unknown split {split!r}; use train, val or test")
        if min(height, width) < 32:
            raise ConfigError(f"synthetic: frames must be at least 32x32, got {width}x{height}")
        self.count, self.seed, self.split = count, seed, split
        self.height, self.width, self.max_objects = height, width, max_objects
        self._report: DataReport | None = None

    def __len__(self) -> int:
        return self.count

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, SPLIT_STREAMS[self.split], index])

    def scene(self, index: int) -> tuple[np.ndarray, list[SceneObject]]:
        """Scene `index` as (BGR uint8 [H, W, 3], objects)."""
        if not 0 <= index < self.count:
            raise IndexError(index)
        rng = self._rng(index)
        background = textured_background(rng, self.height, self.width)
        objects = layout_scene(rng, self.height, self.width, self.max_objects)
        return render_scene(rng, objects, background), objects

    def __getitem__(self, index: int) -> Sample:
        frame, objects = self.scene(index)
        boxes, labels = boxes_labels(objects)
        return Sample(
            image=torch.from_numpy(frame[..., ::-1].copy()).permute(2, 0, 1).contiguous(),
            boxes_xyxy=torch.from_numpy(boxes),
            labels=torch.from_numpy(labels),
            difficult=torch.zeros(len(labels), dtype=torch.bool),
            image_id=index,
            name=f"{self.split}_{index:06d}",
            orig_size=(self.height, self.width),
        )

    @property
    def report(self) -> DataReport:
        """Counts over the whole split (lays out every scene once; nothing is dropped)."""
        if self._report is None:
            report = DataReport()
            for i in range(self.count):
                rng = self._rng(i)
                textured_background(rng, self.height, self.width)  # keep the stream aligned
                labels = [
                    o.label for o in layout_scene(rng, self.height, self.width, self.max_objects)
                ]
                report.count_image(np.array(labels, dtype=np.int64))
            self._report = report
        return self._report


class MovingScenes:
    """Objects that move and bounce over a fixed background, frame after frame (for video)."""

    class_names = SHAPE_CLASSES

    def __init__(self, seed: int = 0, height: int = 360, width: int = 640, max_objects: int = 5):
        self.rng = np.random.default_rng([seed, 99])
        self.height, self.width = height, width
        self.background = textured_background(self.rng, height, width)
        self.objects = layout_scene(self.rng, height, width, max_objects)
        speed = 0.01 * math.sqrt(height * width)  # pixels per frame
        self.velocity = self.rng.uniform(-speed, speed, size=(len(self.objects), 2))

    def frames(
        self, count: int | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield (BGR uint8 frame, boxes_xyxy [N, 4] pixels, labels [N]); count None: endless."""
        t = 0
        while count is None or t < count:
            yield render_scene(self.rng, self.objects, self.background), *boxes_labels(self.objects)
            self._step()
            t += 1

    def _step(self) -> None:
        moved = []
        for obj, v in zip(self.objects, self.velocity):
            x1, y1, x2, y2 = obj.box_xyxy
            if not 0 <= x1 + v[0] <= self.width - (x2 - x1):
                v[0] = -v[0]
            if not 0 <= y1 + v[1] <= self.height - (y2 - y1):
                v[1] = -v[1]
            box = (x1 + v[0], y1 + v[1], x2 + v[0], y2 + v[1])
            moved.append(SceneObject(obj.label, tuple(float(c) for c in box), obj.colour_bgr))
        self.objects = moved


def write_video(path: str | Path, count: int, seed: int = 0, *, height: int = 360,
                width: int = 640, fps: float = 30.0) -> Path:  # fmt: skip
    """Write `count` frames of moving scenes as an MP4 (mp4v) file; returns the path."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise ConfigError(f"cannot write a video to {path}")
    try:
        for frame, _, _ in MovingScenes(seed, height, width).frames(count):
            writer.write(frame)
    finally:
        writer.release()
    return path


def write_voc(dataset: SyntheticScenes, root: str | Path, *, quality: int = 95) -> Path:
    """Write the scenes as a VOC folder: JPEGImages, Annotations, ImageSets/Main/<split>.txt.

    Boxes are written in VOC's 1-based inclusive integers: xmin = round(x1) + 1, xmax = round(x2).
    """
    root = Path(root)
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(len(dataset)):
        frame, objects = dataset.scene(i)
        name = f"{dataset.split}_{i:06d}"
        cv2.imwrite(
            str(root / "JPEGImages" / f"{name}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        (root / "Annotations" / f"{name}.xml").write_text(
            voc_xml(f"{name}.jpg", frame.shape[0], frame.shape[1], objects)
        )
        names.append(name)
    (root / "ImageSets" / "Main" / f"{dataset.split}.txt").write_text("\n".join(names) + "\n")
    return root


def voc_xml(filename: str, height: int, width: int, objects: list[SceneObject],
            class_names: tuple[str, ...] = SHAPE_CLASSES) -> str:  # fmt: skip
    parts = [
        "<annotation>",
        f"  <filename>{filename}</filename>",
        f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>",
    ]
    for obj in objects:
        x1, y1, x2, y2 = obj.box_xyxy
        parts += [
            "  <object>",
            f"    <name>{class_names[obj.label - 1]}</name>",
            "    <difficult>0</difficult>",
            f"    <bndbox><xmin>{round(x1) + 1}</xmin><ymin>{round(y1) + 1}</ymin>"
            f"<xmax>{round(x2)}</xmax><ymax>{round(y2)}</ymax></bndbox>",
            "  </object>",
        ]
    parts.append("</annotation>")
    return "\n".join(parts) + "\n"


# Unlabelled camera-like frames: random uniform noise is a poor stand-in for camera frames (no
# spatial correlation, no large flat areas), so numerics tests and timings use these.
def random_scene(seed: int, height: int = 300, width: int = 300) -> np.ndarray:
    """A BGR uint8 [height, width, 3] frame with a gradient sky, ground, shapes and noise."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top = rng.uniform(60, 220, size=3).astype(np.float32)
    bottom = rng.uniform(20, 160, size=3).astype(np.float32)
    frame = (top * (1 - y) + bottom * y) * np.ones((1, width, 1), np.float32)
    for _ in range(int(rng.integers(3, 8))):
        colour = tuple(float(c) for c in rng.uniform(0, 255, size=3))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        w = int(rng.integers(width // 16, width // 2))
        h = int(rng.integers(height // 16, height // 2))
        if rng.random() < 0.5:
            cv2.rectangle(frame, (cx - w // 2, cy - h // 2), (cx + w // 2, cy + h // 2), colour, -1)
        else:
            cv2.ellipse(
                frame, (cx, cy), (w // 2, h // 2), float(rng.uniform(0, 180)), 0, 360, colour, -1
            )
    frame = cv2.GaussianBlur(frame, (0, 0), 1.0)
    frame += rng.normal(0.0, 6.0, size=frame.shape).astype(np.float32)  # sensor noise
    return np.clip(frame, 0, 255).astype(np.uint8)
