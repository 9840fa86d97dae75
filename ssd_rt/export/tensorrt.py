"""ONNX -> TensorRT engine, with a sidecar JSON that says what the engine was built for.

TensorRT 10 and 11:
- an FP16 ONNX graph (float32 I/O, L2Norm float32) builds as a strongly typed network: the
  graph's own types decide precision. This is the only FP16 path on TensorRT 11, which removed
  BuilderFlag.FP16.
- an INT8 QDQ graph (export/int8.py) builds as a strongly typed network too: explicit
  quantization, INT8 where the Q/DQ pairs say, float elsewhere; the sidecar says int8.
- a float32 graph builds FP32, or on 10.x FP16 through BuilderFlag.FP16 when asked.
- one optimization profile: batch 1..max with opt at the common batch; a timing cache beside the
  engines makes rebuilds fast; the engine file holds only TensorRT's bytes (trtexec and Triton
  read it as is), and everything else goes in `<engine>.json` (its schema: model_format).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import torch

from ssd_rt.errors import ConfigError, SSDRTError
from ssd_rt.export.progress import BuildProgress, logging_reporter, tensorrt_monitor
from ssd_rt.files import atomic_write_bytes, sha256_of
from ssd_rt.model_format import (
    INPUT_NAME,
    make_sidecar,
    read_onnx_info,
    runtime_identity,
    sidecar_path,
)

log = logging.getLogger("ssd_rt")

DEFAULT_WORKSPACE_GIB = 2.0


class EngineBuildError(SSDRTError):
    """TensorRT could not parse the ONNX file or build an engine from it."""


def build_engine(
    onnx_path: str | Path,
    engine_path: str | Path,
    *,
    device: torch.device,
    max_batch: int = 8,
    opt_batch: int | None = None,
    fp16: bool = True,
    workspace_gib: float = DEFAULT_WORKSPACE_GIB,
    timing_cache: Path | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Path:
    """Build `engine_path` (and its sidecar) from `onnx_path` on `device`.

    `progress(fraction, phase)` hears TensorRT's build progress; by default a log line every
    10 s says how far the build is."""
    import tensorrt as trt

    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    info = read_onnx_info(onnx_path)
    if max_batch < 1:
        raise ConfigError(f"max batch must be a positive integer, got {max_batch}")
    opt = opt_batch or min(max_batch, 1 if max_batch < 4 else 4)
    if not 1 <= opt <= max_batch:
        raise ConfigError(f"opt batch {opt} must be within 1..{max_batch}")
    trt_major = int(trt.__version__.split(".")[0])
    graph_typed = info.precision in ("fp16", "int8")  # the graph's own types decide
    if fp16 and info.precision == "fp32" and trt_major >= 11:
        raise ConfigError(
            f"TensorRT {trt.__version__} builds FP16 only from an FP16 graph: export with --fp16"
        )

    identity = runtime_identity(device)
    cache_path = timing_cache or engine_path.parent / timing_cache_name(identity)
    # TensorRT builds on the current CUDA device: make it ours for the build, then restore it.
    with torch.cuda.device(device):
        engine_bytes, cache_bytes = _serialize(
            trt,
            onnx_path,
            cache_path,
            opt=opt,
            max_batch=max_batch,
            size=info.input_size,
            flag_fp16=fp16 and not graph_typed,
            strongly_typed=graph_typed,
            workspace_gib=workspace_gib,
            progress=BuildProgress(progress or logging_reporter(engine_path.name)),
        )
    atomic_write_bytes(engine_path, lambda f: f.write(engine_bytes))
    atomic_write_bytes(cache_path, lambda f: f.write(cache_bytes))

    precision = info.precision if graph_typed else ("fp16" if fp16 else "fp32")
    sidecar = make_sidecar(info, identity, precision=precision, opt_batch=opt,
                           max_batch=max_batch, onnx_path=onnx_path,
                           onnx_sha256=sha256_of(onnx_path),
                           engine_sha256=hashlib.sha256(engine_bytes).hexdigest())  # fmt: skip
    text = json.dumps(sidecar, indent=2)
    atomic_write_bytes(sidecar_path(engine_path), lambda f: f.write(text.encode()))
    return engine_path


def timing_cache_name(identity: dict[str, str]) -> str:
    """One timing cache per TensorRT version and compute capability: TensorRT refuses a cache
    from another version or GPU, so a shared name would make each machine discard the other's."""
    return (
        f"ssd-rt.trt{identity['tensorrt_version']}.sm{identity['compute_capability']}.timing.cache"
    )


def _serialize(
    trt,
    onnx_path: Path,
    cache_path: Path,
    *,
    opt: int,
    max_batch: int,
    size: int,
    flag_fp16: bool,
    strongly_typed: bool,
    workspace_gib: float,
    progress: BuildProgress,
) -> tuple[bytes, bytes]:
    """Parse and build on the current CUDA device: (engine bytes, updated timing cache bytes)."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if strongly_typed:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes(), str(onnx_path)):
        errors = [parser.get_error(i) for i in range(parser.num_errors)]
        if not errors:
            raise EngineBuildError(f"TensorRT cannot parse {onnx_path.name} (see its log above)")
        first = errors[0]
        raise EngineBuildError(
            f"TensorRT cannot parse {onnx_path.name}: node {first.node()} "
            f"'{first.node_name()}' ({first.node_operator()}): {first.desc()}"
            + (f" (+{len(errors) - 1} more errors)" if len(errors) > 1 else "")
        )

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    if flag_fp16:
        # 11 removed the flag; build_engine refuses FP16 from a float32 graph there.
        config.set_flag(trt.BuilderFlag.FP16)  # TensorRT 10 only
    profile = builder.create_optimization_profile()
    profile.set_shape(
        INPUT_NAME, (1, 3, size, size), (opt, 3, size, size), (max_batch, 3, size, size)
    )
    config.add_optimization_profile(profile)
    monitor = tensorrt_monitor(progress)  # referenced here until the build returns
    config.progress_monitor = monitor

    cache = config.create_timing_cache(cache_path.read_bytes() if cache_path.is_file() else b"")
    if cache is None or not config.set_timing_cache(cache, ignore_mismatch=False):
        # A cache is only a speed-up: one TensorRT does not take is replaced, never fatal.
        log.warning(
            "timing cache %s does not fit this TensorRT or GPU; starting a new one", cache_path.name
        )
        config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineBuildError(
            f"TensorRT failed to build an engine from {onnx_path.name} (see its log above)"
        )
    return bytes(serialized), bytes(config.get_timing_cache().serialize())
