"""TensorRT engines: build from the FP16 graph, parity with PyTorch, sidecar mismatch rebuilds.

Skipped with the reason where TensorRT or a CUDA device is missing (see conftest.py).
"""

import json
import logging
import shutil

import pytest
import torch

from ssd_rt.backends import load_backend
from ssd_rt.data.synthetic import random_scene
from ssd_rt.errors import ShapeError, WeightsError
from ssd_rt.export.tensorrt import build_engine, timing_cache_name
from ssd_rt.model_format import runtime_identity, sidecar_path
from ssd_rt.preprocess import preprocess

pytestmark = [pytest.mark.tensorrt, pytest.mark.gpu]


@pytest.fixture
def engine(slim_onnx_fp16, tmp_path):
    onnx_path = tmp_path / "slim.onnx"
    shutil.copy(slim_onnx_fp16, onnx_path)
    engine_path = tmp_path / "slim.engine"
    # An un-indexed device, as users and the trainer pass it: the build makes it current itself.
    build_engine(onnx_path, engine_path, device=torch.device("cuda"), max_batch=4)
    return engine_path


def test_engine_matches_pytorch_within_fp16(engine, slim_checkpoint):
    sidecar = json.loads(sidecar_path(engine).read_text())
    assert sidecar["precision"] == "fp16" and sidecar["input_shape_max"][0] == 4
    assert engine.read_bytes()[:4] != b'{"fo'  # nothing prepended: the file is TensorRT's bytes
    cache = engine.parent / timing_cache_name(runtime_identity(torch.device("cuda", 0)))
    assert cache.stat().st_size > 0  # kept beside the engine for the next build
    images, _ = preprocess([random_scene(s) for s in range(2)])
    reference = load_backend(slim_checkpoint, "torch", "cpu")
    trt_backend = load_backend(engine, "tensorrt", "cuda")
    loc_r, logits_r = reference.infer(images)
    loc_t, logits_t = trt_backend.infer(images.cuda())
    assert (loc_t.cpu() - loc_r).abs().max() <= 0.02 * loc_r.abs().max()
    assert (logits_t.cpu() - logits_r).abs().max() <= 0.02 * logits_r.abs().max()
    with pytest.raises(ShapeError, match=r"max 4"):
        trt_backend.infer(torch.zeros(5, 3, 300, 300, device="cuda"))


def test_sidecar_mismatch_triggers_a_rebuild(engine, caplog):
    path = sidecar_path(engine)
    sidecar = json.loads(path.read_text())
    sidecar["gpu_name"] = "Some Other GPU"
    path.write_text(json.dumps(sidecar))
    with caplog.at_level(logging.WARNING, logger="ssd_rt"):
        backend = load_backend(engine, "tensorrt", "cuda")
    assert backend.rebuilt
    assert any(
        "rebuilding slim.engine: it was built for GPU Some Other GPU" in r.getMessage()
        for r in caplog.records
    )
    assert json.loads(path.read_text())["gpu_name"] == torch.cuda.get_device_name()


def test_mismatch_with_no_onnx_beside_is_an_error(engine):
    path = sidecar_path(engine)
    sidecar = json.loads(path.read_text())
    sidecar["tensorrt_version"] = "0.0.1"
    path.write_text(json.dumps(sidecar))
    (engine.parent / "slim.onnx").unlink()
    with pytest.raises(
        WeightsError, match=r"was built for TensorRT 0\.0\.1 .* no slim\.onnx beside it"
    ):
        load_backend(engine, "tensorrt", "cuda")


def test_an_int8_qdq_model_builds_an_int8_engine(slim_onnx, tmp_path):
    """The QDQ ONNX of export/int8.py builds strongly typed (explicit quantization); its
    sidecar says int8, and its outputs follow ONNX Runtime's on the same QDQ graph."""
    from ssd_rt.data.spec import open_dataset
    from ssd_rt.export.int8 import calibration_batches, quantize_onnx
    from ssd_rt.model_format import read_onnx_info

    int8 = tmp_path / "slim_int8.onnx"
    scenes = open_dataset("synthetic:16", "train")
    batches = calibration_batches(scenes, read_onnx_info(slim_onnx), 16)
    quantize_onnx(slim_onnx, int8, batches, version="test")
    engine = tmp_path / "slim_int8.engine"
    build_engine(int8, engine, device=torch.device("cuda"), max_batch=2, fp16=False)
    assert json.loads(sidecar_path(engine).read_text())["precision"] == "int8"
    images, _ = preprocess([random_scene(s) for s in range(2)])
    loc_o, logits_o = load_backend(int8, "onnxruntime", "cpu").infer(images)
    loc_t, logits_t = load_backend(engine, "tensorrt", "cuda").infer(images.cuda())
    for ours, reference in ((loc_t.cpu(), loc_o), (logits_t.cpu(), logits_o)):
        assert torch.isfinite(ours).all()
        similarity = torch.nn.functional.cosine_similarity(ours.flatten(), reference.flatten(), 0)
        assert similarity > 0.99, float(similarity)
