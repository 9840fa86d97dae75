"""INT8 and OpenVINO: the QDQ export, its accuracy on each INT8 runtime against FP32 (mAP and
box-by-box agreement), OpenVINO's parity with ONNX Runtime, auto selection, and the export's
one-line errors on real processes."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("onnxruntime", reason="needs the onnx extra")
pytest.importorskip("openvino", reason="needs the openvino extra (pip install 'ssd-rt[openvino]')")

import onnx

from ssd_rt.backends import load_backend
from ssd_rt.cli.common import run_command
from ssd_rt.cli.export import main
from ssd_rt.data.spec import open_dataset
from ssd_rt.detections import Detections
from ssd_rt.evaluation.agreement import detection_agreement, reference_count
from ssd_rt.evaluation.evaluate import predict, score
from ssd_rt.export.int8 import FLOAT_PARTS_KEY, float_nodes
from ssd_rt.model_format import read_onnx_info
from ssd_rt.model_search import DEMO_MODEL
from ssd_rt.priors import default_boxes

ROOT = Path(__file__).resolve().parents[1]
HELD_OUT = "synthetic:150"  # the generated scenes' test split: never seen by calibration


def export(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ssd_rt.cli.export", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def demo_int8(tmp_path_factory):
    out = tmp_path_factory.mktemp("int8") / "demo_int8.onnx"
    done = export("demo", "--onnx", out, "--int8", "--calib-data", "synthetic:100")
    assert done.returncode == 0, done.stderr
    assert "int8 QDQ, calibrated on 100 images" in done.stdout
    return out


def evaluate(path: Path, backend: str):
    model = load_backend(path, backend, "cpu")
    info = model.info
    predictions = predict(model.infer, open_dataset(HELD_OUT, "test"),
                          priors_cxcywh=default_boxes(info.config.priors),
                          normalization=info.config.normalization, device=torch.device("cpu"),
                          size=info.input_size)  # fmt: skip
    return predictions, score(predictions, info.class_names, metrics=("voc07",)).voc["voc07"]


def test_the_int8_file_is_a_qdq_graph_with_its_float_parts_recorded(demo_int8):
    model = onnx.load(str(demo_int8))
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("QuantizeLinear") > 10 and ops.count("DequantizeLinear") > 10
    info = read_onnx_info(demo_int8)
    assert info.precision == "int8" and info.class_names == read_onnx_info(DEMO_MODEL).class_names
    props = {p.key: p.value for p in model.metadata_props}
    assert props[FLOAT_PARTS_KEY] == "first,heads"
    # zero points are 0: symmetric INT8, what TensorRT's explicit quantization accepts
    initializers = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "QuantizeLinear":
            zero = initializers[node.input[2]]
            assert zero.dtype.name == "int8" and not zero.any(), node.name
    # the parts kept in float have no Q/DQ on their weights
    kept = set(float_nodes(onnx.load(str(DEMO_MODEL)), ("first", "heads")))
    assert len(kept) == 1 + 12  # the first conv and 6 loc + 6 conf heads
    weight_of = {n.name: n.input[1] for n in model.graph.node if n.op_type == "Conv"}
    dequantized = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    for name in kept:
        assert weight_of[name] not in dequantized, name


@pytest.mark.slow
def test_int8_keeps_the_demo_models_accuracy_on_each_runtime(demo_int8):
    """INT8 mAP@0.5 (VOC07) within 1 point of FP32, and at least 95% of the FP32 detections
    above 0.3 found again within 2 px, on ONNX Runtime and on OpenVINO."""
    reference, fp32 = evaluate(DEMO_MODEL, "onnxruntime")
    assert fp32.mean_ap > 0.5  # a model that detects, or the comparison says nothing
    assert reference_count(reference.detections) > 150  # boxes to agree on
    for backend in ("onnxruntime", "openvino"):
        predictions, int8 = evaluate(demo_int8, backend)
        assert abs(int8.mean_ap - fp32.mean_ap) <= 0.01, (backend, int8.mean_ap, fp32.mean_ap)
        agreement = detection_agreement(reference.detections, predictions.detections,
                                        reference.sizes_hw)  # fmt: skip
        assert agreement >= 0.95, (backend, agreement)


def test_openvino_fp32_equals_onnxruntime_fp32(slim_onnx):
    torch.manual_seed(0)
    images = torch.randn(3, 3, 300, 300)
    for path in (DEMO_MODEL, slim_onnx):
        ort = load_backend(path, "onnxruntime", "cpu").infer(images)
        ov = load_backend(path, "openvino", "cpu").infer(images)
        for a, b in zip(ort, ov, strict=True):
            assert a.shape == b.shape and a.dtype == b.dtype == torch.float32
            assert torch.allclose(a, b, atol=1e-4, rtol=0), float((a - b).abs().max())


def test_auto_picks_openvino_for_int8_and_onnxruntime_for_fp32(demo_int8, monkeypatch):
    assert load_backend(demo_int8, "auto", "cpu").describe() == "openvino on CPU (int8)"
    assert load_backend(DEMO_MODEL, "auto", "cpu").describe() == "onnxruntime on cpu (fp32)"
    assert load_backend(demo_int8, "onnxruntime", "cpu").describe() == "onnxruntime on cpu (int8)"
    # Without OpenVINO (its device list is empty), the INT8 model runs on ONNX Runtime.
    monkeypatch.setattr("ssd_rt.backends.openvino.openvino_devices", lambda: [])
    assert load_backend(demo_int8, "auto", "cpu").describe() == "onnxruntime on cpu (int8)"


def test_the_agreement_counts_boxes_within_the_tolerance_of_the_same_class():
    def dets(boxes, labels, scores):
        return Detections(torch.tensor(boxes, dtype=torch.float32), torch.tensor(scores),
                          torch.tensor(labels))  # fmt: skip

    reference = [dets([[10, 10, 50, 50], [100, 100, 150, 150], [0, 0, 5, 5]], [1, 2, 1],
                      [0.9, 0.8, 0.1])]  # fmt: skip  # the 0.1 one is below min_score
    moved = [dets([[11.5, 10, 50, 51.9], [100, 100, 150, 150]], [1, 3], [0.9, 0.8])]
    # 600x600 image: 2 px at 300x300 are 4 px here; the second box changed class
    assert detection_agreement(reference, moved, [(600, 600)]) == 0.5
    far = [dets([[15, 10, 50, 50], [100, 100, 150, 150]], [1, 2], [0.9, 0.8])]
    assert detection_agreement(reference, far, [(600, 600)]) == 0.5  # 2.5 px away at 300
    assert detection_agreement(reference, reference, [(600, 600)]) == 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--int8"], "--int8 needs calibration images: --calib-data"),
        (["--int8", "--fp16", "--calib-data", "synthetic:4"], "--int8 and --fp16 exclude"),
        (["--calib-data", "synthetic:4"], "--calib-data is for --int8"),
        (["--int8", "--calib-data", "synthetic:4", "--calib-images", "0"], "--calib-images must"),
        (["--int8", "--calib-data", "voc:/nowhere"], "/nowhere"),
    ],
)
def test_int8_export_errors_are_one_line(tmp_path, capsys, args, message):
    """In process, through run_command as the command's entry point runs it (the real-process
    path is the test below)."""
    out = tmp_path / "m.onnx"
    assert run_command("ssd-rt-export", main, ["demo", "--onnx", str(out), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left behind


def test_an_int8_export_does_not_replace_an_existing_file(tmp_path):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"mine")
    done = export("demo", "--onnx", out, "--int8", "--calib-data", "synthetic:4")
    assert done.returncode == 1 and "--overwrite" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert out.read_bytes() == b"mine" and list(tmp_path.iterdir()) == [out]


def test_bench_times_the_openvino_and_int8_rows(capsys):
    from ssd_rt.cli.bench import main as bench_main

    args = ["--width", "0.125", "--batches", "1", "--runs", "1", "--warmup", "0", "--device",
            "cpu", "--no-baseline", "--backends", "onnxruntime-int8,openvino,openvino-int8"]
    assert run_command("ssd-rt-bench", bench_main, args) == 0
    out = capsys.readouterr().out
    for name in ("onnxruntime on cpu (int8)", "openvino on CPU (fp32)", "openvino on CPU (int8)"):
        row = next(line for line in out.splitlines() if line.startswith(name))
        median, p90 = float(row.split()[-4]), float(row.split()[-3])
        assert 0 < median <= p90, row


def test_a_checkpoint_exports_to_int8_through_a_scratch_fp32_graph_left_nowhere(tmp_path):
    from ssd_rt.checkpoint import save_checkpoint
    from ssd_rt.config import SSDConfig
    from ssd_rt.data.synthetic import SyntheticScenes
    from ssd_rt.model import SSD300

    config = SSDConfig(num_classes=5, width=0.125)
    checkpoint = tmp_path / "slim.pt"
    save_checkpoint(checkpoint, SSD300(config), config, SyntheticScenes.class_names)
    out = tmp_path / "slim_int8.onnx"
    args = [str(checkpoint), "--onnx", str(out), "--int8", "--calib-data", "synthetic:8"]
    assert run_command("ssd-rt-export", main, args) == 0
    assert read_onnx_info(out).precision == "int8"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slim.pt", "slim_int8.onnx"]
