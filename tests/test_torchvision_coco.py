"""torchvision's COCO SSD300 as an ssd-rt model: exact conversion, the same detections as
torchvision's own post-processing, through ONNX Runtime too, and `--model coco` end to end with a
stand-in weights file in the torch hub cache (no network in tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ssd_rt.postprocess import postprocess
from ssd_rt.pretrained.torchvision_ssd import build_model, category_layout
from ssd_rt.priors import default_boxes
from tests.data_files import make_coco

tv_detection = pytest.importorskip("torchvision.models.detection")
HUB_NAME = "ssd300_vgg16_coco-b556d3b4.pth"
CONFIDENT = (1, 3, 18)  # person, car, dog: COCO ids given a push, like a trained model's


def categories() -> list[str]:
    return tv_detection.SSD300_VGG16_Weights.COCO_V1.meta["categories"]


def torchvision_ssd(confident: bool) -> torch.nn.Module:
    """torchvision's ssd300_vgg16 with random weights; `confident` scales the classifier so a
    few classes score high on some boxes (a trained model's look) instead of ~1/91 everywhere."""
    torch.manual_seed(0)
    model = tv_detection.ssd300_vgg16(weights=None, weights_backbone=None, num_classes=91).eval()
    if confident:
        with torch.no_grad():
            for conv in model.head.classification_head.module_list:
                conv.weight.mul_(0.3)  # logits of std ~1.2: peaked, never saturated ties
                bias = conv.bias.view(-1, 91)  # [anchors, classes]
                bias.zero_()
                bias[:, 0] = 4.0  # mostly background, as a trained model says
                bias[:, list(CONFIDENT)] = 3.0
    return model


@pytest.fixture(scope="module", params=[False, True], ids=["random", "confident"])
def pair(request):
    tv = torchvision_ssd(request.param)
    ours, config, names = build_model(tv.state_dict(), categories())
    torch.manual_seed(1)
    images = torch.rand(2, 3, 300, 300) * 255 - 120  # normalized as torchvision's SSD does
    with torch.no_grad():
        features = list(tv.backbone(images).values())
        heads = tv.head(features)
        loc, logits = ours(images)
    return tv, ours, config, names, images, features, heads, loc, logits


def test_heads_equal_torchvision(pair):
    _, _, config, names, _, _, heads, loc, logits = pair
    assert len(names) == 80 and config.num_classes == 81 and config.folded_logits == 10
    assert names[:3] == ("person", "bicycle", "car") and "N/A" not in names
    torch.testing.assert_close(loc, heads["bbox_regression"], rtol=1e-5, atol=1e-5)
    _, real, _ = category_layout(categories())
    theirs = heads["cls_logits"].softmax(-1)[..., real]  # every real class, 91-way softmax
    torch.testing.assert_close(logits.softmax(-1)[..., 1:], theirs, rtol=0, atol=1e-5)
    placeholders = [i for i, n in enumerate(categories()) if n == "N/A"]
    background = torch.logsumexp(heads["cls_logits"][..., [0, *placeholders]], dim=-1)
    torch.testing.assert_close(logits[..., 0], background, rtol=1e-5, atol=1e-4)


def test_default_boxes_equal_torchvision_anchors(pair):
    tv, _, config, _, images, features, _, _, _ = pair
    from torchvision.models.detection.image_list import ImageList
    from torchvision.ops import box_convert

    anchors = tv.anchor_generator(ImageList(images, [(300, 300)] * 2), features)[0]
    ours = box_convert(default_boxes(config.priors), "cxcywh", "xyxy") * 300
    torch.testing.assert_close(ours, anchors, rtol=0, atol=1e-4)
    assert (anchors[:, 2:] - anchors[:, :2]).max() <= 300 + 1e-4  # torchvision's clip=True


def ours_as_torchvision(dets, real: list[int]) -> dict:
    """Our detections (fractions, labels 1..80) as torchvision's at 300x300 (labels = COCO ids)."""
    pixels = dets.to_pixels(300, 300)
    ids = torch.tensor(real)[pixels.labels - 1]
    return {"boxes": pixels.boxes_xyxy, "scores": pixels.scores, "labels": ids}


def assert_same_detections(ours: dict, theirs: dict) -> None:
    order_o = torch.argsort(ours["scores"], descending=True, stable=True)
    order_t = torch.argsort(theirs["scores"], descending=True, stable=True)
    assert len(order_o) == len(order_t)
    torch.testing.assert_close(ours["scores"][order_o], theirs["scores"][order_t], rtol=0,
                               atol=1e-5)  # fmt: skip
    assert torch.equal(ours["labels"][order_o], theirs["labels"][order_t])
    torch.testing.assert_close(ours["boxes"][order_o], theirs["boxes"][order_t], rtol=0,
                               atol=0.01)  # fmt: skip


def test_detections_equal_torchvision_postprocess(pair):
    tv, _, config, _, images, features, heads, loc, logits = pair
    from torchvision.models.detection.image_list import ImageList

    anchors = tv.anchor_generator(ImageList(images, [(300, 300)] * 2), features)
    theirs = tv.postprocess_detections(heads, anchors, [(300, 300)] * 2)
    ours = postprocess(loc, logits, default_boxes(config.priors), score_thresh=tv.score_thresh,
                       iou_thresh=tv.nms_thresh, topk_per_class=tv.topk_candidates,
                       max_det=tv.detections_per_img)  # fmt: skip
    _, real, _ = category_layout(categories())
    for o, t in zip(ours, theirs):
        assert len(t["scores"]) > 0
        assert_same_detections(ours_as_torchvision(o, real), t)
    if tv.head.classification_head.module_list[0].bias[0] > 0:  # the confident model
        confident = [d for d in theirs if (d["scores"] > 0.5).any()]
        assert confident, "the confident model should score some boxes above 0.5"


def test_onnx_runtime_equals_pytorch(pair, tmp_path):
    pytest.importorskip("onnxruntime")
    tv, ours, config, names, images, features, heads, loc, logits = pair
    from ssd_rt.backends.onnxruntime import OnnxRuntimeBackend
    from ssd_rt.export.onnx import export_onnx
    from ssd_rt.model_format import ModelInfo

    path = export_onnx(ours, ModelInfo(config, names), tmp_path / "coco.onnx", version="test")
    backend = OnnxRuntimeBackend(path, torch.device("cpu"))
    assert backend.class_names == names and backend.info.config == config
    ort_loc, ort_logits = backend.infer(images)
    torch.testing.assert_close(ort_loc, loc, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ort_logits.softmax(-1), logits.softmax(-1), rtol=0, atol=1e-5)
    _, real, _ = category_layout(categories())
    from torchvision.models.detection.image_list import ImageList

    anchors = tv.anchor_generator(ImageList(images, [(300, 300)] * 2), features)
    theirs = tv.postprocess_detections(heads, anchors, [(300, 300)] * 2)
    for o, t in zip(postprocess(ort_loc, ort_logits, default_boxes(config.priors)), theirs):
        assert_same_detections(ours_as_torchvision(o, real), t)


def test_conversion_refuses_other_state_dicts():
    from ssd_rt.errors import WeightsError

    state = torchvision_ssd(False).state_dict()
    del state["backbone.scale_weight"]
    with pytest.raises(WeightsError, match=r"missing.*scale_weight"):
        build_model(state, categories())
    small = tv_detection.ssd300_vgg16(weights=None, weights_backbone=None, num_classes=5)
    with pytest.raises(WeightsError, match="5 outputs per box but there are 91 categories"):
        build_model(small.state_dict(), categories())


# --- the commands, on real files ---------------------------------------------------------------


def command(name: str, *args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    code = f"import sys; from {name} import entry; sys.argv[0] = 'x'; entry()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def environment(torch_home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    repo = str(Path(__file__).resolve().parents[1])
    env.update(TORCH_HOME=str(torch_home), PYTHONPATH=repo, QT_QPA_PLATFORM="offscreen")
    return env


@pytest.fixture(scope="module")
def coco_run(tmp_path_factory):
    """`ssd-rt --model coco` in a fresh folder, the download standing in as a file in the hub
    cache (torchvision's confident random weights): it converts once, then runs."""
    root = tmp_path_factory.mktemp("coco")
    hub = root / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.save(torchvision_ssd(True).state_dict(), hub / HUB_NAME)
    env = environment(root / "torch")
    args = ("--source", "demo", "--model", "coco", "--max-frames", "3", "--headless")
    first = command("ssd_rt.cli.run", *args, "--json-out", "first.jsonl", cwd=root, env=env)
    second = command("ssd_rt.cli.run", *args, "--json-out", "second.jsonl", cwd=root, env=env)
    return root, env, first, second


def test_model_coco_converts_once_then_runs(coco_run):
    root, _, first, second = coco_run
    assert first.returncode == 0, first.stderr
    assert "converted torchvision's SSD300 COCO weights" in first.stderr
    assert (root / "engines" / "coco.pt").is_file() and (root / "engines" / "coco.onnx").is_file()
    assert "classes: person, bicycle, car" in first.stderr
    assert second.returncode == 0, second.stderr
    assert "converted" not in second.stderr  # reused engines/coco.*
    lines = (root / "second.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all("detections" in json.loads(line) for line in lines)


def test_model_coco_offline_is_one_line(tmp_path):
    env = environment(tmp_path / "torch")
    env["https_proxy"] = env["HTTPS_PROXY"] = "http://127.0.0.1:9"  # nothing listens: offline
    run = command("ssd_rt.cli.run", "--source", "demo", "--model", "coco", "--max-frames", "1",
                  cwd=tmp_path, env=env)  # fmt: skip
    assert run.returncode == 1
    line = run.stderr.strip().splitlines()[-1]
    assert "Traceback" not in run.stderr
    assert line.startswith("ssd-rt: error: could not download torchvision's SSD300 COCO weights")
    assert "https://download.pytorch.org/models/" + HUB_NAME in line
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / HUB_NAME) in line
    assert not (tmp_path / "engines" / "coco.pt").exists()


def test_weights_option_converts_a_local_file_and_refuses_junk(tmp_path):
    env = environment(tmp_path / "torch")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    run = command("ssd_rt.cli.export", "coco", "--weights", str(junk), "--onnx", "x.onnx",
                  cwd=tmp_path, env=env)  # fmt: skip
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip().startswith(f"ssd-rt-export: error: cannot read {junk}")
    run = command("ssd_rt.cli.run", "--source", "demo", "--model", "demo", "--weights",
                  str(junk), cwd=tmp_path, env=env)  # fmt: skip
    assert run.returncode == 1
    assert "--weights goes with --model coco" in run.stderr


def test_export_chain_on_the_converted_model(coco_run, tmp_path):
    root, env, first, _ = coco_run
    assert first.returncode == 0, first.stderr
    out = tmp_path / "coco_fp16.onnx"
    run = command("ssd_rt.cli.export", "coco", "--onnx", str(out), "--fp16", cwd=root, env=env)
    assert run.returncode == 0, run.stderr
    assert "converted" not in run.stderr  # engines/coco.pt is reused
    from ssd_rt.model_format import read_onnx_info

    info = read_onnx_info(out)
    assert info.precision == "fp16" and len(info.class_names) == 80
    assert info.config.folded_logits == 10 and info.config.priors.clip
    import onnx

    from tests.test_export_onnx import tensorrt_operators

    for path in (out, root / "engines" / "coco.onnx"):  # the fold is ReduceLogSumExp
        used = {node.op_type for node in onnx.load(str(path)).graph.node}
        assert "ReduceLogSumExp" in used and used <= tensorrt_operators(), used


def test_eval_on_coco_format_keeps_category_ids(coco_run, tmp_path):
    """ssd-rt-eval --model coco on a COCO file the test writes: its own ids (1 person, 3 car,
    18 dog), an extra category the model does not have, a crowd region; detections.json
    carries those ids and pycocotools accepts it."""
    pytest.importorskip("pycocotools")
    root, env, first, _ = coco_run
    assert first.returncode == 0, first.stderr
    images = [{"id": i + 1, "file_name": f"{i}.jpg", "height": 240, "width": 320}
              for i in range(4)]  # fmt: skip
    cats = [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 18, "name": "dog"},
            {"id": 95, "name": "hoverboard"}]  # fmt: skip
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 20, 80, 120], "area": 9600,
             "iscrowd": 0},
            {"id": 2, "image_id": 2, "category_id": 3, "bbox": [50, 40, 150, 90], "area": 13500,
             "iscrowd": 0},
            {"id": 3, "image_id": 3, "category_id": 95, "bbox": [5, 5, 60, 60], "area": 3600,
             "iscrowd": 0},
            {"id": 4, "image_id": 4, "category_id": 18, "bbox": [0, 0, 200, 200], "area": 40000,
             "iscrowd": 1}]  # fmt: skip
    ann, image_dir = make_coco(tmp_path, images, anns, cats)
    out = tmp_path / "report"
    run = command("ssd_rt.cli.eval", "--model", "coco", "--data", f"coco:{ann},{image_dir}",
                  "--out", str(out), cwd=root, env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "no category for 77 of the model's classes" in run.stderr
    detections = json.loads((out / "detections.json").read_text())
    assert detections and {d["category_id"] for d in detections} <= {1, 3, 18}
    from pycocotools.coco import COCO

    with open(os.devnull, "w") as quiet:
        sys.stdout, saved = quiet, sys.stdout
        try:
            COCO(str(ann)).loadRes(detections)
        finally:
            sys.stdout = saved
    report = json.loads((out / "report.json").read_text())
    assert set(report["metrics"]["coco"]) >= {"AP@[.5:.95]", "AP50"}


def test_weights_other_than_the_converted_ones_are_refused(coco_run, tmp_path):
    """engines/coco.pt records the sha256 of what it was converted from; another --weights file
    is one line, and the conversion is not overwritten."""
    root, env, first, _ = coco_run
    assert first.returncode == 0, first.stderr
    before = (root / "engines" / "coco.pt").stat().st_mtime_ns
    other = tmp_path / "other.pth"
    other.write_bytes(b"some other weights")
    run = command("ssd_rt.cli.run", "--source", "demo", "--model", "coco", "--weights", str(other),
                  "--max-frames", "1", cwd=root, env=env)  # fmt: skip
    assert run.returncode == 1 and "Traceback" not in run.stderr
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("ssd-rt: error: engines/coco.pt was converted from other weights than")
    assert (root / "engines" / "coco.pt").stat().st_mtime_ns == before


def test_eval_on_a_coco_file_without_the_models_classes_is_one_line(tmp_path):
    image = {"id": 1, "file_name": "a.jpg", "height": 60, "width": 80}
    ann, image_dir = make_coco(tmp_path, [image], [], [{"id": 1, "name": "cat"}])
    run = command("ssd_rt.cli.eval", "--model", "demo", "--data",
                  f"coco:{ann},{image_dir}", "--out", str(tmp_path / "report"), cwd=tmp_path,
                  env=environment(tmp_path / "torch"))  # fmt: skip
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip() == (f"ssd-rt-eval: error: {ann} has none of the model's classes "
                                  "(ellipse, rectangle, triangle, star)")  # fmt: skip
    assert not (tmp_path / "report" / "report.json").exists()
