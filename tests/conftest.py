import os
import shutil

import pytest
import torch

# Qt never needs a display in tests: offscreen platform everywhere (CI has no display).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Two cores on CI: more intra-op threads than cores only adds contention.
torch.set_num_threads(min(2, os.cpu_count() or 1))


# Programs a run must have, named by the caller: CI sets SSD_RT_REQUIRE="ffmpeg unshare" (.ci/run)
# so that a set-up that failed to install one fails the run instead of skipping its tests
# quietly; a user's `make test` without root leaves it empty, and those tests skip with reasons.
REQUIRED_PROGRAMS = os.environ.get("SSD_RT_REQUIRE", "").split()


def program_found(name: str) -> bool:
    """On PATH; tritonserver: the nvidia-pytriton wheel's, which `make` installs."""
    if name == "tritonserver":
        from tests.triton_server import server_home

        return server_home() is not None
    return shutil.which(name) is not None


def pytest_sessionstart(session):
    missing = [name for name in REQUIRED_PROGRAMS if not program_found(name)]
    if missing:
        pytest.exit(f"SSD_RT_REQUIRE names programs this run must test with, and these are "
                    f"missing: {', '.join(missing)}", returncode=3)  # fmt: skip


def pytest_collection_modifyitems(config, items):
    """Skip capability-marked tests with a reason when the capability is missing."""
    has_cuda = torch.cuda.is_available()
    try:
        import tensorrt  # noqa: F401

        has_trt = True
    except Exception:  # ImportError, or a wheel whose native libraries are missing
        has_trt = False
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA device; none found"))
        if "tensorrt" in item.keywords and not (has_trt and has_cuda):
            item.add_marker(
                pytest.mark.skip(
                    reason="needs TensorRT and a CUDA device; import tensorrt failed or no GPU"
                )
            )


# --- shared models ---------------------------------------------------------------------------

SLIM_CLASSES = ("circle", "square", "triangle")


@pytest.fixture(scope="session")
def slim_checkpoint(tmp_path_factory):
    """A slim SSD300 checkpoint (width 0.125, 3 classes) with confident class scores.

    Conf heads are scaled up (x1.5; more saturates softmax into ties) so that, untrained, it
    still produces detections above 0.3: the FP16-vs-FP32 and parity tests need some.
    """
    from ssd_rt.checkpoint import save_checkpoint
    from ssd_rt.config import SSDConfig
    from ssd_rt.model import SSD300

    torch.manual_seed(0)
    config = SSDConfig(num_classes=len(SLIM_CLASSES) + 1, width=0.125)
    model = SSD300(config).eval()
    with torch.no_grad():
        for head in model.conf_heads:
            head.weight.mul_(1.5)
    path = tmp_path_factory.mktemp("slim") / "slim.pt"
    save_checkpoint(path, model, config, SLIM_CLASSES)
    return path


def _export(checkpoint, precision, name):
    from ssd_rt.checkpoint import load_model
    from ssd_rt.export.onnx import export_onnx
    from ssd_rt.model_format import ModelInfo

    model, ckpt = load_model(checkpoint)
    path = checkpoint.parent / name
    info = ModelInfo(ckpt.config, ckpt.class_names, precision)
    return export_onnx(model, info, path, version="test")


@pytest.fixture(scope="session")
def slim_onnx(slim_checkpoint):
    """The slim checkpoint exported as FP32 ONNX beside it (slim.onnx)."""
    pytest.importorskip("onnx", reason="needs the onnx extra")
    return _export(slim_checkpoint, "fp32", "slim.onnx")


@pytest.fixture(scope="session")
def slim_onnx_fp16(slim_checkpoint):
    """The slim checkpoint exported as the FP16 graph (slim_fp16.onnx)."""
    pytest.importorskip("onnx", reason="needs the onnx extra")
    return _export(slim_checkpoint, "fp16", "slim_fp16.onnx")
