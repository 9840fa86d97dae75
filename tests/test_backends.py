"""Backends and load_backend: choice by file and availability, fallbacks, parity, bad input."""

import logging
import shutil

import pytest
import torch

from ssd_rt.backends import load_backend
from ssd_rt.backends.base import BackendUnavailable
from ssd_rt.backends.torch import TorchBackend
from ssd_rt.data.synthetic import random_scene
from ssd_rt.errors import ConfigError, ShapeError, WeightsError
from ssd_rt.postprocess import postprocess
from ssd_rt.preprocess import preprocess
from ssd_rt.priors import default_boxes

NO_CUDA = not torch.cuda.is_available()


@pytest.fixture(scope="module")
def images():
    batch, _ = preprocess([random_scene(seed, 360, 640) for seed in range(3)])
    return batch


def test_checkpoint_runs_on_torch(slim_checkpoint, images):
    with load_backend(slim_checkpoint, device="cpu") as backend:
        assert isinstance(backend, TorchBackend)
        assert backend.class_names == ("circle", "square", "triangle")
        assert backend.input_size == 300
        loc, logits = backend.infer(images)
    assert loc.shape == (3, 8732, 4) and logits.shape == (3, 8732, 4)
    assert loc.dtype == torch.float32 and loc.device.type == "cpu"


def test_onnx_runs_on_onnxruntime_and_matches_torch(slim_checkpoint, slim_onnx, images):
    torch_backend = load_backend(slim_checkpoint, "torch", "cpu")
    ort_backend = load_backend(slim_onnx, "auto", "cpu", threads=1)
    assert ort_backend.name == "onnxruntime"
    assert ort_backend.class_names == torch_backend.class_names
    loc_t, logits_t = torch_backend.infer(images)
    loc_o, logits_o = ort_backend.infer(images)
    assert (loc_t - loc_o).abs().max() <= 1e-4
    assert (logits_t - logits_o).abs().max() <= 1e-4


def test_bf16_on_cpu_agrees_with_fp32(slim_checkpoint, images):
    fp32 = load_backend(slim_checkpoint, "torch", "cpu")
    bf16 = load_backend(slim_checkpoint, "torch", "cpu", precision="bf16")
    assert bf16.info.precision == "bf16"
    priors = default_boxes(fp32.info.config.priors)
    dets32 = postprocess(*fp32.infer(images), priors, score_thresh=0.3)
    dets16 = postprocess(*bf16.infer(images), priors, score_thresh=0.3)
    matched = total = 0
    for a, b in zip(dets32, dets16):
        for box, label in zip(a.boxes_xyxy * 300, a.labels):
            total += 1
            close = ((b.boxes_xyxy * 300 - box).abs() <= 2.0).all(dim=1) & (b.labels == label)
            matched += bool(close.any())
    print(f"bf16 vs fp32: {matched}/{total} detections above 0.3 within 2 px")
    # bf16 keeps 8 mantissa bits: ~96% agree within 1 px on this model (opt-in, documented).
    assert total >= 20 and matched / total >= 0.93


def test_fp16_torch_on_cpu_is_refused(slim_checkpoint):
    with pytest.raises(ConfigError, match="fp16 runs on CUDA"):
        load_backend(slim_checkpoint, "torch", "cpu", precision="fp16")


@pytest.mark.skipif(not NO_CUDA, reason="checks the fallback on machines without CUDA")
def test_engine_falls_back_to_onnx_beside_it(slim_onnx, tmp_path, caplog):
    onnx_copy = tmp_path / "model.onnx"
    shutil.copy(slim_onnx, onnx_copy)
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"engine bytes from another machine")
    with caplog.at_level(logging.WARNING, logger="ssd_rt"):
        backend = load_backend(engine, device="cpu")
    assert backend.name == "onnxruntime"
    (record,) = caplog.records
    assert "TensorRT needs a CUDA device; running ONNX Runtime on model.onnx" in record.getMessage()


def test_engine_with_nothing_beside_it(tmp_path):
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"x")
    with pytest.raises(
        BackendUnavailable, match=r"cannot run model.engine: .*no \.onnx or \.pt beside"
    ):
        load_backend(engine, device="cpu")


def test_tensorrt_asked_for_where_there_is_none(slim_onnx):
    with pytest.raises(
        BackendUnavailable, match=r"--backend tensorrt cannot run: TensorRT needs a CUDA"
    ):
        load_backend(slim_onnx, "tensorrt", "cpu")


@pytest.mark.skipif(not NO_CUDA, reason="checks the message on machines without CUDA")
def test_cuda_asked_for_where_there_is_none(slim_checkpoint):
    with pytest.raises(ConfigError, match="no CUDA device is available"):
        load_backend(slim_checkpoint, device="cuda")


def test_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(WeightsError, match="model not found"):
        load_backend(tmp_path / "missing.onnx")
    with pytest.raises(WeightsError, match="is a folder"):
        load_backend(tmp_path)
    weird = tmp_path / "model.h5"
    weird.write_bytes(b"x")
    with pytest.raises(WeightsError, match=r"unknown model file type '\.h5'"):
        load_backend(weird)
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07 not protobuf at all" * 10)
    with pytest.raises(WeightsError, match="is not a loadable ONNX model"):
        load_backend(corrupt, device="cpu")


def test_onnx_that_is_not_an_ssd_rt_model(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    path = tmp_path / "other.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    onnx.save(model, str(path))
    with pytest.raises(WeightsError, match="is not an ssd-rt model"):
        load_backend(path, device="cpu")


def test_onnx_whose_metadata_disagrees_with_its_graph(slim_onnx, tmp_path):
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(slim_onnx))
    for prop in model.metadata_props:  # 3 class names -> 2: the graph still has 4 logits
        if prop.key == "ssd_rt.class_names":
            prop.value = '["circle", "square"]'
        if prop.key == "ssd_rt.config":
            prop.value = prop.value.replace('"num_classes": 4', '"num_classes": 3')
    path = tmp_path / "edited.onnx"
    onnx.save(model, str(path))
    with pytest.raises(WeightsError, match=r"outputs \[\[8732, 4\], \[8732, 4\]\] .* 3 classes"):
        load_backend(path, "onnxruntime", "cpu")


def test_wrong_backend_for_the_file(slim_onnx, slim_checkpoint):
    with pytest.raises(ConfigError, match="the torch backend runs checkpoints"):
        load_backend(slim_onnx, "torch", "cpu")
    with pytest.raises(ConfigError, match="unknown backend 'tflite'"):
        load_backend(slim_checkpoint, "tflite", "cpu")


def test_batch_larger_than_the_profile_and_wrong_shapes(slim_onnx):
    backend = load_backend(slim_onnx, "onnxruntime", "cpu")
    backend.max_batch = 2  # as a TensorRT profile sets it
    with pytest.raises(
        ShapeError, match=r"batch 3 is larger than this onnxruntime model allows \(max 2\)"
    ):
        backend.infer(torch.zeros(3, 3, 300, 300))
    with pytest.raises(ShapeError, match=r"images must be \[B, 3, 300, 300\]"):
        backend.infer(torch.zeros(1, 3, 320, 320))


def test_bad_thread_count(slim_onnx):
    with pytest.raises(ConfigError, match="threads must be a positive integer"):
        load_backend(slim_onnx, "onnxruntime", "cpu", threads=0)


@pytest.mark.gpu
def test_torch_cuda_fp16_graphs_match_fp32(slim_checkpoint, images):
    cpu = load_backend(slim_checkpoint, "torch", "cpu")
    cuda = load_backend(slim_checkpoint, "torch", "cuda")
    assert cuda.info.precision == "fp16" and cuda.cuda_graphs
    loc_c, logits_c = cpu.infer(images)
    for _ in range(2):  # the second call replays the captured graph
        loc_g, logits_g = cuda.infer(images.cuda())
    assert (loc_g.cpu() - loc_c).abs().max() <= 0.05 * loc_c.abs().max()
    assert (logits_g.cpu() - logits_c).abs().max() <= 0.05 * logits_c.abs().max()
