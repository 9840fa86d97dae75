"""`ssd-rt-eval` and `ssd-rt-data`: real runs on generated data, and one line per bad input."""

import json
import subprocess
import sys

import cv2
import pytest
import torch

from ssd_rt.cli.common import run_command
from ssd_rt.cli.data import main as data_main
from ssd_rt.cli.eval import main as eval_main
from ssd_rt.data.synthetic import SHAPE_CLASSES, SyntheticScenes
from ssd_rt.evaluation.metrics import GroundTruth, from_coco_results, voc_evaluate


def evaluate(*args) -> int:
    return run_command("ssd-rt-eval", eval_main, [str(a) for a in args])


def data(*args) -> int:
    return run_command("ssd-rt-data", data_main, [str(a) for a in args])


@pytest.fixture(scope="module")
def shapes_checkpoint(tmp_path_factory):
    """A slim untrained SSD300 with the generated scenes' classes."""
    from ssd_rt.checkpoint import save_checkpoint
    from ssd_rt.config import SSDConfig
    from ssd_rt.model import SSD300

    torch.manual_seed(0)
    config = SSDConfig(num_classes=len(SHAPE_CLASSES) + 1, width=0.125)
    model = SSD300(config).eval()
    with torch.no_grad():
        for head in model.conf_heads:
            head.weight.mul_(1.5)  # confident enough to leave detections above 0.01
    path = tmp_path_factory.mktemp("shapes") / "shapes.pt"
    save_checkpoint(path, model, config, SHAPE_CLASSES)
    return path


def test_eval_writes_a_consistent_report(shapes_checkpoint, tmp_path, capsys):
    out = tmp_path / "report"
    assert evaluate("--model", shapes_checkpoint, "--data", "synthetic:6:1", "--out", out) == 0
    printed = capsys.readouterr().out
    for name in ("VOC07 11-point mAP@0.5", "VOC area mAP@0.5", "COCO AP@[.5:.95]", "COCO AP50"):
        assert name in printed
    report = json.loads((out / "report.json").read_text())
    assert report["images"] == 6 and set(report["metrics"]) == {"voc07", "voc", "coco"}
    assert set(report["metrics"]["voc"]["per_class"]) == set(SHAPE_CLASSES)
    for name in SHAPE_CLASSES:
        image = cv2.imread(str(out / "pr" / f"{name}.png"))
        assert image is not None and image.shape == (480, 640, 3)
    # detections.json (COCO results format) reproduces the reported VOC mAP.
    scenes = SyntheticScenes(6, seed=1, split="test")
    dets = from_coco_results(
        json.loads((out / "detections.json").read_text()), range(6), [1, 2, 3, 4]
    )
    assert sum(len(d) for d in dets) > 0
    gts = [GroundTruth(s.boxes_xyxy, s.labels, s.difficult) for s in (scenes[i] for i in range(6))]
    again = voc_evaluate(dets, gts, SHAPE_CLASSES, use_07_metric=False)
    assert again.mean_ap == pytest.approx(report["metrics"]["voc"]["mAP"], abs=1e-6)


def test_eval_on_a_voc_folder_with_default_out_never_replaces(
    shapes_checkpoint, tmp_path, monkeypatch
):
    voc = tmp_path / "voc"
    assert data("write-voc", voc, "--count", "4", "--split", "test", "--size", "200x150") == 0
    monkeypatch.chdir(tmp_path)
    args = ("--model", shapes_checkpoint, "--data", f"voc:{voc}", "--metrics", "voc07")
    assert evaluate(*args) == 0 and evaluate(*args) == 0
    first = json.loads((tmp_path / "runs/eval/shapes/report.json").read_text())
    second = json.loads((tmp_path / "runs/eval/shapes-2/report.json").read_text())
    assert first["metrics"] == second["metrics"] and set(first["metrics"]) == {"voc07"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--data", "pascal:x"), "unknown data spec"),
        (("--data", "synthetic:4", "--metrics", "map"), "--metrics takes voc07, voc, coco"),
        (("--data", "synthetic:4", "--batch", "0"), "--batch and --limit must be positive"),
        (("--data", "synthetic:4", "--conf", "1.5"), "score threshold must be in [0, 1)"),
        (("--data", "voc:/no/such/root"), "VOC root not found: /no/such/root"),
    ],
)
def test_eval_bad_input(shapes_checkpoint, tmp_path, capsys, args, message):
    assert evaluate("--model", shapes_checkpoint, "--out", tmp_path / "o", *args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_eval_model_problems(slim_checkpoint, tmp_path, capsys):
    assert (
        evaluate("--model", tmp_path / "none.pt", "--data", "synthetic:2", "--out", tmp_path / "o")
        == 1
    )
    assert "model not found" in capsys.readouterr().err
    # circle/square/triangle is not what the generated scenes hold.
    assert (
        evaluate("--model", slim_checkpoint, "--data", "synthetic:2", "--out", tmp_path / "o") == 1
    )
    assert "the generated scenes have classes ellipse, rectangle" in capsys.readouterr().err


def test_eval_keeps_an_existing_report(shapes_checkpoint, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "report.json").write_text("mine")
    args = ("--model", shapes_checkpoint, "--data", "synthetic:2", "--metrics", "voc", "--out", out)
    assert evaluate(*args) == 1
    assert "already holds a report; pass --overwrite" in capsys.readouterr().err
    assert (out / "report.json").read_text() == "mine"
    assert evaluate(*args, "--overwrite") == 0
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert (
        evaluate("--model", shapes_checkpoint, "--data", "synthetic:2", "--out", a_file / "sub")
        == 1
    )
    assert "is not a writable folder" in capsys.readouterr().err


def test_eval_command_prints_no_traceback(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ssd_rt.cli.eval",
            "--model",
            str(tmp_path / "m.onnx"),
            "--data",
            "synthetic",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert run.stderr.strip().startswith("ssd-rt-eval: error: model not found")
    assert "Traceback" not in run.stderr


# --- ssd-rt-data ----------------------------------------------------------------------------------


def test_data_check_prints_the_summary(tmp_path, capsys):
    voc = tmp_path / "voc"
    assert data("write-voc", voc, "--count", "20", "--split", "train", "--size", "160x120") == 0
    capsys.readouterr()
    assert data("check", f"voc:{voc}", "--split", "train") == 0
    out = capsys.readouterr().out
    assert "images: 20 (0 with no objects)" in out and "dropped: 0" in out
    assert all(name in out for name in SHAPE_CLASSES)


def test_data_writers_never_replace(tmp_path, capsys):
    folder = tmp_path / "voc"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    assert data("write-voc", folder) == 1
    assert "is not an empty folder" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    video = tmp_path / "v.mp4"
    video.write_bytes(b"mine")
    assert data("write-video", video, "--frames", "3") == 1
    assert video.read_bytes() == b"mine"
    assert data("write-video", tmp_path / "no" / "v.mp4") == 1
    assert "folder" in capsys.readouterr().err
    assert data("write-video", tmp_path / "ok.mp4", "--frames", "4", "--size", "160x120") == 0
    assert (tmp_path / "ok.mp4").stat().st_size > 0


def test_data_bad_numbers_exit_with_one_line(tmp_path):
    for args in (
        ["write-video", str(tmp_path / "a.mp4"), "--size", "big"],
        ["write-voc", str(tmp_path / "v"), "--count", "0"],
        ["check", "yolo:" + str(tmp_path / "none")],
    ):
        run = subprocess.run(
            [sys.executable, "-m", "ssd_rt.cli.data", *args], capture_output=True, text=True
        )
        assert run.returncode != 0 and "Traceback" not in run.stderr
        assert run.stderr.strip().count("\n") == 0, run.stderr
