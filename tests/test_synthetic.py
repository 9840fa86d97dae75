"""Generated scenes: determinism, object statistics, tight boxes, occlusion, VOC and video."""

import math

import cv2
import numpy as np
import pytest
import torch

from ssd_rt.data.synthetic import (
    MAX_ASPECT,
    MAX_HIDDEN,
    MAX_SIZE,
    MIN_SIZE,
    SHAPE_CLASSES,
    MovingScenes,
    SyntheticScenes,
    draw_object,
    write_video,
    write_voc,
)
from ssd_rt.data.voc import VOCDataset
from ssd_rt.errors import ConfigError


def test_same_seed_same_scene_and_splits_differ():
    a, b = SyntheticScenes(3, seed=7), SyntheticScenes(3, seed=7)
    assert torch.equal(a[2].image, b[2].image)
    assert torch.equal(a[2].boxes_xyxy, b[2].boxes_xyxy)
    assert not torch.equal(a[0].image, SyntheticScenes(3, seed=8)[0].image)
    assert not torch.equal(a[0].image, SyntheticScenes(3, seed=7, split="test")[0].image)


def test_sample_format_and_object_statistics():
    data = SyntheticScenes(200, seed=0, height=240, width=320)
    sizes, aspects, labels = [], [], []
    for i in range(len(data)):
        s = data[i]
        assert s.image.shape == (3, 240, 320) and s.image.dtype == torch.uint8
        b = s.boxes_xyxy
        assert ((b[:, 0] >= 0) & (b[:, 1] >= 0) & (b[:, 2] <= 320) & (b[:, 3] <= 240)).all()
        w, h = (b[:, 2] - b[:, 0]), (b[:, 3] - b[:, 1])
        sizes += (torch.sqrt(w * h) / math.sqrt(240 * 320)).tolist()
        aspects += (w / h).tolist()
        labels += s.labels.tolist()
    assert MIN_SIZE * 0.99 <= min(sizes) and max(sizes) <= MAX_SIZE * 1.01
    assert min(sizes) < 0.08 and max(sizes) > 0.5  # the whole range is used
    assert 1 / MAX_ASPECT * 0.99 <= min(aspects) and max(aspects) <= MAX_ASPECT * 1.01
    assert min(aspects) < 0.5 and max(aspects) > 2.0
    counts = np.bincount(labels, minlength=len(SHAPE_CLASSES) + 1)[1:]
    assert counts.min() > 0.15 * counts.sum()  # every class is common
    assert data.report.boxes_per_class == dict(enumerate(counts.tolist(), start=1))


def test_boxes_are_tight_and_objects_mostly_visible():
    data = SyntheticScenes(30, seed=1)
    for i in range(len(data)):
        _, objects = data.scene(i)
        owner = np.zeros((300, 300), np.int16)
        areas = []
        for k, obj in enumerate(objects, start=1):
            mask = np.zeros((300, 300), np.uint8)
            draw_object(mask, obj, colour=255)
            ys, xs = np.nonzero(mask > 127)
            x1, y1, x2, y2 = obj.box_xyxy
            # The shape's pixels span its box (within a pixel of anti-aliasing).
            assert abs(xs.min() - x1) <= 1.5 and abs(xs.max() + 1 - x2) <= 1.5
            assert abs(ys.min() - y1) <= 1.5 and abs(ys.max() + 1 - y2) <= 1.5
            owner[mask > 127] = k
            areas.append((mask > 127).sum())
        visible = np.bincount(owner.ravel(), minlength=len(objects) + 1)[1:]
        assert (visible >= (1 - MAX_HIDDEN) * np.array(areas) - 1).all()


def test_voc_round_trip(tmp_path):
    data = SyntheticScenes(6, seed=2, split="val", height=200, width=260)
    write_voc(data, tmp_path / "voc")
    loaded = VOCDataset([tmp_path / "voc"], "val", SHAPE_CLASSES)
    assert len(loaded) == 6
    for i in range(6):
        ours, theirs = data[i], loaded[i]
        assert theirs.labels.tolist() == ours.labels.tolist()
        # VOC integers: within rounding of the generated float boxes.
        assert (theirs.boxes_xyxy - ours.boxes_xyxy).abs().max() <= 0.5 + 1e-4
        jpeg_error = (theirs.image.float() - ours.image.float()).abs().mean()
        assert jpeg_error < 6  # noise-heavy scenes at quality 95


def test_moving_scenes_move_and_the_video_is_readable(tmp_path):
    frames = list(MovingScenes(seed=3, height=120, width=160).frames(5))
    assert len(frames) == 5
    (f0, b0, l0), (_, b4, l4) = frames[0], frames[4]
    assert f0.shape == (120, 160, 3) and (l0 == l4).all()
    assert not np.allclose(b0, b4)  # objects moved
    assert ((b4[:, :2] >= -1e-3) & (b4[:, 2:] <= [160 + 1e-3, 120 + 1e-3])).all()
    path = write_video(tmp_path / "moving.mp4", 12, seed=3, height=120, width=160, fps=10)
    cap = cv2.VideoCapture(str(path))
    count = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (120, 160, 3)
        count += 1
    cap.release()
    assert count == 12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"count": 0}, "count must be at least 1"), ({"count": 2, "split": "dev"}, "unknown split"),
     ({"count": 2, "height": 8}, "at least 32x32")],
)  # fmt: skip
def test_bad_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SyntheticScenes(**kwargs)
