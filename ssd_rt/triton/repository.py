"""An ssd-rt model as a Triton model repository entry: NAME/config.pbtxt and NAME/1/<model>.

    write_repository(onnx_path, repo_dir, RepositoryOptions(name="ssd", platform="python"))

platforms:
- onnxruntime: NAME/1/model.onnx, `platform: "onnxruntime_onnx"` (Triton's ONNX Runtime backend,
  CPU or GPU: instance kind AUTO).
- tensorrt: NAME/1/model.plan, a TensorRT engine built here for this machine's GPU (`tensorrt_plan`,
  instance kind GPU): build it on a machine with the server's GPU and TensorRT version.
- python: NAME/1/model.py (ssd_rt/triton/python_model.py) + model.onnx, ONNX Runtime inside
  Triton's Python backend, for CPU-only servers without the ONNX Runtime backend.

config.pbtxt is built as Triton's own ModelConfig protobuf message (tritonclient ships
model_config.proto) and printed in its text format, so every field name and type is the
schema's. Dynamic batching (preferred sizes, a bounded queue delay) merges the requests of all
clients; the ssd-rt metadata (class names, default boxes, normalization, input size, precision)
travels as model parameters, so a client needs only the URL (backends/triton.py reads them).
"""

from __future__ import annotations

import os
import shutil
import site
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ssd_rt.errors import ConfigError, SSDRTError
from ssd_rt.model_format import INPUT_NAME, OUTPUT_NAMES, ModelInfo, read_onnx_info

PLATFORMS = ("onnxruntime", "tensorrt", "python")
QUEUE_DELAY_US = 2000  # how long Triton may hold a request to batch it with others (2 ms)
PYTHON_PATHS = "python_paths"  # the parameter python_model.py reads


class RepositoryError(SSDRTError):
    """The repository entry could not be written."""


@dataclass(frozen=True)
class RepositoryOptions:
    name: str = "ssd"
    platform: str = "onnxruntime"
    max_batch: int = 8
    instances: int = 1
    queue_delay_us: int = QUEUE_DELAY_US

    def check(self) -> None:
        if self.platform not in PLATFORMS:
            raise ConfigError(f"--platform must be one of {', '.join(PLATFORMS)}")
        if not self.name or not all(c.isalnum() or c in "-_." for c in self.name):
            raise ConfigError(f"--name must be letters, digits, '-', '_' or '.', got {self.name!r}")
        if self.max_batch < 1 or self.instances < 1:
            raise ConfigError("--max-batch and --instances must be positive integers")


def model_config(info: ModelInfo, options: RepositoryOptions, version: str):
    """Triton's ModelConfig message for `info` served as `options` say."""
    from tritonclient.grpc import model_config_pb2 as pb

    config = pb.ModelConfig(name=options.name, max_batch_size=options.max_batch)
    if options.platform == "python":
        config.backend = "python"
    else:
        config.platform = {"onnxruntime": "onnxruntime_onnx", "tensorrt": "tensorrt_plan"}[
            options.platform
        ]
    size, priors = info.input_size, info.config.priors.num_priors
    config.input.add(name=INPUT_NAME, data_type=pb.TYPE_FP32, dims=[3, size, size])
    loc, logits = OUTPUT_NAMES
    config.output.add(name=loc, data_type=pb.TYPE_FP32, dims=[priors, 4])
    config.output.add(name=logits, data_type=pb.TYPE_FP32, dims=[priors, info.config.num_classes])
    preferred = sorted({min(4, options.max_batch), options.max_batch} - {1})
    config.dynamic_batching.preferred_batch_size.extend(preferred)
    config.dynamic_batching.max_queue_delay_microseconds = options.queue_delay_us
    kind = {"tensorrt": pb.ModelInstanceGroup.KIND_GPU, "python": pb.ModelInstanceGroup.KIND_CPU}
    config.instance_group.add(count=options.instances,
                              kind=kind.get(options.platform, pb.ModelInstanceGroup.KIND_AUTO))
    for key, value in info.to_metadata(version).items():
        config.parameters[key].string_value = value
    if options.platform == "python":
        config.parameters[PYTHON_PATHS].string_value = os.pathsep.join(_python_paths())
    return config


def config_text(config) -> str:
    from google.protobuf import text_format

    return text_format.MessageToString(config)


def write_repository(onnx_path: Path, repo: Path, options: RepositoryOptions, *, version: str,
                     overwrite: bool = False) -> Path:  # fmt: skip
    """Write repo/NAME (config.pbtxt, 1/<model>) for the ONNX file; returns repo/NAME. The entry
    is assembled in a temporary folder inside `repo` and renamed into place when whole."""
    options.check()
    try:
        import tritonclient.grpc  # noqa: F401 (model_config_pb2 builds config.pbtxt)
    except ImportError:
        raise ConfigError("--triton-repo needs the triton extra: pip install 'ssd-rt[triton]'"
                          ) from None  # fmt: skip
    info = read_onnx_info(onnx_path)
    target = repo / options.name
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} exists; pass --overwrite to replace it")
    repo.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{options.name}.", dir=repo) as tmp:
        entry = Path(tmp) / options.name
        (entry / "1").mkdir(parents=True)
        _write_model_files(onnx_path, entry / "1", options)
        text = config_text(model_config(info, options, version))
        (entry / "config.pbtxt").write_text(text)
        if target.exists():
            shutil.rmtree(target)
        entry.rename(target)
    return target


def _write_model_files(onnx_path: Path, folder: Path, options: RepositoryOptions) -> None:
    if options.platform == "tensorrt":
        from ssd_rt.device import resolve_device, tensorrt_unavailable_reason
        from ssd_rt.export.tensorrt import build_engine

        device = resolve_device("auto")
        reason = tensorrt_unavailable_reason(device)
        if reason:
            raise RepositoryError(f"--platform tensorrt builds model.plan for this machine's "
                                  f"GPU: {reason}; export on the server's GPU machine")  # fmt: skip
        build_engine(onnx_path, folder / "model.plan", device=device,
                     max_batch=options.max_batch, fp16=False)  # fmt: skip
        return
    shutil.copyfile(onnx_path, folder / "model.onnx")
    if options.platform == "python":
        shutil.copyfile(Path(__file__).with_name("python_model.py"), folder / "model.py")


def _python_paths() -> list[str]:
    """Where this interpreter finds onnxruntime and numpy: Triton's stub does not inherit
    PYTHONPATH, so python_model.py adds these itself."""
    paths = [*site.getsitepackages(), site.getusersitepackages()]
    return [p for p in dict.fromkeys(paths) if Path(p).is_dir() and p not in sys.path[:1]]
