"""The shipped demo model (ssd_rt/shipped/demo.onnx) detects the moving shapes of the demo
source, and `ssd-rt --source demo` runs with it out of the box (no --model) on a CPU-only
machine."""

import json
import subprocess
import sys

import torch
from torchvision.ops import box_iou

from ssd_rt.backends.base import load_backend
from ssd_rt.data.synthetic import SHAPE_CLASSES, MovingScenes
from ssd_rt.model_search import DEMO_MODEL
from ssd_rt.video.detector import Detector

DEMO = DEMO_MODEL


def test_demo_model_ships_and_finds_the_moving_objects():
    assert DEMO.is_file(), "ssd_rt/shipped/demo.onnx must ship with the package"
    detector = Detector(load_backend(DEMO, "onnxruntime", "cpu"), conf=0.4)
    assert detector.class_names == SHAPE_CLASSES
    found = missed = right = false = 0  # ground truth found / missed, detections right / false
    for frame, boxes, labels in MovingScenes(seed=7).frames(30):
        dets = detector.detect([frame])[0][0]
        gt = torch.as_tensor(boxes, dtype=torch.float32)
        iou = box_iou(dets.boxes_xyxy, gt) if len(dets) and len(gt) else torch.zeros(len(dets), 0)
        same = dets.labels[:, None] == torch.as_tensor(labels)[None, :]
        hit = (iou >= 0.5) & same  # [D, G]
        found += int(hit.any(0).sum())
        missed += int((~hit.any(0)).sum())
        right += int(hit.any(1).sum())
        false += int((~hit.any(1)).sum())
    recall = found / (found + missed)
    precision = right / max(right + false, 1)
    assert recall >= 0.8, f"recall {recall:.2f}"
    assert precision >= 0.8, f"precision {precision:.2f}"


def test_ssd_rt_demo_runs_with_the_default_model(tmp_path):
    out = tmp_path / "demo.jsonl"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ssd_rt.cli.run",
            "--source",
            "demo",
            "--max-frames",
            "20",
            "--json-out",
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"},
    )
    assert run.returncode == 0, run.stderr
    assert f"model {DEMO}" in run.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 20
    assert sum(len(r["detections"]) for r in rows) >= 20  # the shapes are seen
