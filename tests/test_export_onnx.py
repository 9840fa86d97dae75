"""ONNX export: graph contract, metadata, TensorRT operator support, parity with PyTorch, FP16."""

from pathlib import Path

import numpy as np
import pytest
import torch

from ssd_rt.checkpoint import load_model
from ssd_rt.data.synthetic import random_scene
from ssd_rt.model_format import read_onnx_info
from ssd_rt.postprocess import postprocess
from ssd_rt.preprocess import preprocess
from ssd_rt.priors import default_boxes

onnx = pytest.importorskip("onnx", reason="needs the onnx extra")
ort = pytest.importorskip("onnxruntime", reason="needs the onnx extra")

TRT_OPS_FILE = Path(__file__).parent / "data" / "tensorrt_onnx_operators.txt"


def tensorrt_operators() -> set[str]:
    lines = TRT_OPS_FILE.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def run_onnx(path, images: torch.Tensor):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    loc, logits = session.run(None, {"images": images.numpy()})
    return torch.from_numpy(loc), torch.from_numpy(logits)


@pytest.fixture(scope="module")
def images():
    batch, _ = preprocess([random_scene(seed, 480, 640) for seed in range(4)])
    return batch


@pytest.mark.parametrize("fixture", ["slim_onnx", "slim_onnx_fp16"])
def test_graph_contract(fixture, request):
    model = onnx.load(str(request.getfixturevalue(fixture)))
    onnx.checker.check_model(model, full_check=True)
    (inp,) = model.graph.input
    loc, logits = model.graph.output
    assert (inp.name, loc.name, logits.name) == ("images", "loc", "logits")
    assert dims(inp)[1:] == [3, 300, 300] and isinstance(dims(inp)[0], str)  # symbolic batch
    assert dims(loc)[1:] == [8732, 4]
    assert dims(logits)[1:] == [8732, 4]
    for value in (inp, loc, logits):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # float32 I/O
    assert model.opset_import[0].version >= 17


@pytest.mark.parametrize("fixture", ["slim_onnx", "slim_onnx_fp16"])
def test_every_operator_is_in_tensorrts_support_list(fixture, request):
    model = onnx.load(str(request.getfixturevalue(fixture)))
    used = {node.op_type for node in model.graph.node}
    print(f"{fixture}: {sorted(used)}")
    assert used <= tensorrt_operators(), f"not in TensorRT's list: {used - tensorrt_operators()}"


def test_metadata_is_enough_to_run(slim_onnx, slim_checkpoint):
    _, checkpoint = load_model(slim_checkpoint)
    model = onnx.load(str(slim_onnx))
    props = {p.key: p.value for p in model.metadata_props}
    for key in ("class_names", "prior_spec", "normalization", "input_size", "version"):
        assert f"ssd_rt.{key}" in props
    info = read_onnx_info(slim_onnx)
    assert info.config == checkpoint.config
    assert info.class_names == checkpoint.class_names
    assert info.precision == "fp32"


@pytest.mark.parametrize("batch", [1, 3])
def test_onnxruntime_matches_pytorch(slim_onnx, slim_checkpoint, images, batch):
    model, checkpoint = load_model(slim_checkpoint)
    x = images[:batch]
    with torch.no_grad():
        loc_pt, logits_pt = model(x)
    loc_ort, logits_ort = run_onnx(slim_onnx, x)
    loc_err = (loc_ort - loc_pt).abs().max().item()
    logits_err = (logits_ort - logits_pt).abs().max().item()
    print(f"batch {batch}: max abs difference loc {loc_err:.2e}, logits {logits_err:.2e}")
    assert loc_err <= 1e-4 and logits_err <= 1e-4

    priors = default_boxes(checkpoint.config.priors)
    dets_pt = postprocess(loc_pt, logits_pt, priors, score_thresh=0.3)
    dets_ort = postprocess(loc_ort, logits_ort, priors, score_thresh=0.3)
    assert sum(len(d) for d in dets_pt) > 0
    for a, b in zip(dets_pt, dets_ort):
        assert torch.equal(a.labels, b.labels)
        torch.testing.assert_close(a.boxes_xyxy, b.boxes_xyxy, atol=1e-5, rtol=0)
        torch.testing.assert_close(a.scores, b.scores, atol=1e-5, rtol=0)


def test_fp16_graph_keeps_l2norm_in_float32(slim_onnx_fp16):
    model = onnx.shape_inference.infer_shapes(onnx.load(str(slim_onnx_fp16)))
    types = {v.name: v.type.tensor_type.elem_type for v in model.graph.value_info}
    types.update({i.name: i.data_type for i in model.graph.initializer})
    reduce_sums = [n for n in model.graph.node if n.op_type == "ReduceSum"]
    assert len(reduce_sums) == 1  # the L2Norm's sum of squares
    assert types[reduce_sums[0].input[0]] == onnx.TensorProto.FLOAT
    conv_weights = [types[n.input[1]] for n in model.graph.node if n.op_type == "Conv"]
    assert conv_weights and all(t == onnx.TensorProto.FLOAT16 for t in conv_weights)
    assert read_onnx_info(slim_onnx_fp16).precision == "fp16"


def test_fp16_detections_agree_with_fp32(slim_onnx, slim_onnx_fp16, slim_checkpoint, images):
    _, checkpoint = load_model(slim_checkpoint)
    priors = default_boxes(checkpoint.config.priors)
    dets32 = postprocess(*run_onnx(slim_onnx, images), priors, score_thresh=0.3)
    dets16 = postprocess(*run_onnx(slim_onnx_fp16, images), priors, score_thresh=0.3)
    matched = total = 0
    for d32, d16 in zip(dets32, dets16):
        boxes32, boxes16 = d32.boxes_xyxy * 300, d16.boxes_xyxy * 300
        for box, label in zip(boxes32, d32.labels):
            total += 1
            same_label = d16.labels == label
            close = ((boxes16 - box).abs() <= 1.0).all(dim=1)
            matched += bool((same_label & close).any())
    print(f"FP16 vs FP32: {matched}/{total} detections above 0.3 within 1 px")
    assert total >= 20, "too few detections to compare"
    assert matched / total >= 0.99


def test_export_does_not_touch_the_source_model(slim_checkpoint, tmp_path):
    from ssd_rt.export.onnx import export_onnx
    from ssd_rt.model_format import ModelInfo

    model, checkpoint = load_model(slim_checkpoint)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    info = ModelInfo(checkpoint.config, checkpoint.class_names, "fp16")
    export_onnx(model, info, tmp_path / "m.onnx", version="t")
    for key, value in model.state_dict().items():
        assert value.dtype == before[key].dtype and torch.equal(value, before[key])


@pytest.mark.parametrize("fixture", ["slim_onnx", "slim_onnx_fp16"])
def test_black_frame_gives_finite_outputs(fixture, request):
    """An all-zero conv4_3 must not turn L2Norm into 0/0 in the exported graph."""
    black, _ = preprocess(np.zeros((300, 300, 3), np.uint8))
    zeros = torch.zeros(1, 3, 300, 300)
    for x in (black, zeros):
        loc, logits = run_onnx(request.getfixturevalue(fixture), x)
        assert torch.isfinite(loc).all() and torch.isfinite(logits).all()
