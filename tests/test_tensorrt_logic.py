"""The TensorRT logic that needs no GPU: sidecar reading and its errors, `mismatch`, ONNX
staleness by sha256, and `check_engine_io` against a stand-in engine (TensorRT's enums from a
stand-in module; the real engine runs in tests/test_tensorrt.py where a GPU exists)."""

from __future__ import annotations

import enum
import json
import sys
import types
from pathlib import Path

import pytest

from ssd_rt.backends.tensorrt import check_engine_io, engine_is_stale
from ssd_rt.config import SSDConfig
from ssd_rt.errors import WeightsError
from ssd_rt.files import sha256_of
from ssd_rt.model_format import (
    ModelInfo,
    make_sidecar,
    mismatch,
    read_sidecar,
    sidecar_info,
    sidecar_path,
)

IDENTITY = {"tensorrt_version": "10.16.1", "gpu_name": "NVIDIA H100", "compute_capability": "9.0"}


def write_engine(folder: Path, onnx_bytes: bytes = b"onnx graph") -> tuple[Path, Path]:
    onnx_path, engine_path = folder / "m.onnx", folder / "m.engine"
    onnx_path.write_bytes(onnx_bytes)
    engine_path.write_bytes(b"engine bytes")
    info = ModelInfo(SSDConfig(num_classes=3, width=0.125), ("a", "b"))
    sidecar = make_sidecar(info, IDENTITY, precision="fp16", opt_batch=4, max_batch=8,
                           onnx_path=onnx_path, onnx_sha256=sha256_of(onnx_path),
                           engine_sha256=sha256_of(engine_path))  # fmt: skip
    sidecar_path(engine_path).write_text(json.dumps(sidecar))
    return onnx_path, engine_path


def test_a_sidecar_round_trips_and_its_errors_are_one_line(tmp_path):
    _, engine = write_engine(tmp_path)
    sidecar = read_sidecar(engine)
    info = sidecar_info(sidecar, str(engine))
    assert info.class_names == ("a", "b") and info.config.width == 0.125
    assert info.precision == "fp16"
    assert sidecar["input_shape_max"] == [8, 3, 300, 300]
    side = sidecar_path(engine)
    side.write_text("{not json")
    with pytest.raises(WeightsError, match="is not readable JSON"):
        read_sidecar(engine)
    side.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(WeightsError, match="is not an ssd-rt engine sidecar"):
        read_sidecar(engine)
    side.unlink()
    with pytest.raises(WeightsError, match=r"has no sidecar m\.engine\.json; rebuild it"):
        read_sidecar(engine)
    broken = {**sidecar, "class_names": ["only one"]}
    with pytest.raises(WeightsError, match="engine sidecar is malformed"):
        sidecar_info(broken, "m.engine")


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("tensorrt_version", "11.4.0", "TensorRT 10.16.1 (this machine: 11.4.0)"),
        ("gpu_name", "NVIDIA L4", "GPU NVIDIA H100 (this machine: NVIDIA L4)"),
        ("compute_capability", "8.9", "compute capability 9.0 (this machine: 8.9)"),
    ],
)
def test_mismatch_names_what_differs(tmp_path, key, value, words):
    _, engine = write_engine(tmp_path)
    sidecar = read_sidecar(engine)
    assert mismatch(sidecar, IDENTITY) is None
    assert mismatch(sidecar, {**IDENTITY, key: value}) == words


def test_staleness_is_by_content_not_by_date(tmp_path):
    onnx_path, engine = write_engine(tmp_path)
    assert not engine_is_stale(engine, onnx_path)
    onnx_path.touch()  # a newer date, the same bytes: still the engine of this graph
    assert not engine_is_stale(engine, onnx_path)
    onnx_path.write_bytes(b"onnx graph, re-exported")
    assert engine_is_stale(engine, onnx_path)
    onnx_path.write_bytes(b"onnx graph")
    sidecar_path(engine).write_text("{broken")
    assert engine_is_stale(engine, onnx_path)  # an unreadable sidecar: rebuild
    engine.unlink()
    assert engine_is_stale(engine, onnx_path)


class _Mode(enum.Enum):
    INPUT = 1
    OUTPUT = 2


class _DType(enum.Enum):
    FLOAT = 0
    HALF = 1


class StandInEngine:
    """The three ICudaEngine members check_engine_io reads, over a dict name -> (mode, dtype)."""

    def __init__(self, io: dict) -> None:
        self.io = io
        self.num_io_tensors = len(io)

    def get_tensor_name(self, index: int) -> str:
        return list(self.io)[index]

    def get_tensor_mode(self, name: str):
        return self.io[name][0]

    def get_tensor_dtype(self, name: str):
        return self.io[name][1]


@pytest.fixture
def stand_in_tensorrt(monkeypatch):
    module = types.SimpleNamespace(TensorIOMode=_Mode, DataType=_DType)
    monkeypatch.setitem(sys.modules, "tensorrt", module)


def test_check_engine_io_accepts_ssd_rt_io_and_names_what_is_wrong(stand_in_tensorrt):
    good = {"images": (_Mode.INPUT, _DType.FLOAT), "loc": (_Mode.OUTPUT, _DType.FLOAT),
            "logits": (_Mode.OUTPUT, _DType.FLOAT)}  # fmt: skip
    check_engine_io(StandInEngine(good), Path("m.engine"))
    renamed = {"input": good["images"], "loc": good["loc"], "logits": good["logits"]}
    with pytest.raises(WeightsError, match=r"not an ssd-rt engine: its tensors are \['input'"):
        check_engine_io(StandInEngine(renamed), Path("m.engine"))
    swapped = {**good, "loc": (_Mode.INPUT, _DType.FLOAT)}
    with pytest.raises(WeightsError, match="not an ssd-rt engine"):
        check_engine_io(StandInEngine(swapped), Path("m.engine"))
    half = {**good, "logits": (_Mode.OUTPUT, _DType.HALF)}
    with pytest.raises(WeightsError, match=r"tensors \['logits'\] are not float32"):
        check_engine_io(StandInEngine(half), Path("m.engine"))
