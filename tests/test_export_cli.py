"""`ssd-rt-export`: writes ONNX, never replaces what exists, one line per bad input."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ssd_rt.cli.common import run_command
from ssd_rt.cli.export import main
from ssd_rt.model_format import read_onnx_info

pytest.importorskip("onnx", reason="needs the onnx extra")


def export(*args: str) -> int:
    return run_command("ssd-rt-export", main, [str(a) for a in args])


def test_exports_onnx(slim_checkpoint, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    assert export(slim_checkpoint, "--onnx", out, "--fp16") == 0
    assert "wrote" in capsys.readouterr().out
    info = read_onnx_info(out)
    assert info.precision == "fp16" and info.class_names == ("circle", "square", "triangle")


def test_existing_output_is_kept_unless_overwrite(slim_checkpoint, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    out.write_bytes(b"the user's own file")
    assert export(slim_checkpoint, "--onnx", out) == 1
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"the user's own file"
    assert export(slim_checkpoint, "--onnx", out, "--overwrite") == 0
    assert read_onnx_info(out).precision == "fp32"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without a GPU")
def test_engine_without_tensorrt_writes_nothing(slim_checkpoint, tmp_path, capsys):
    out = tmp_path / "model.onnx"
    assert export(slim_checkpoint, "--onnx", out, "--engine", tmp_path / "m.engine") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no CUDA device is available" in err or "TensorRT" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--max-batch", "0"), "--max-batch must be a positive integer, got 0"),
        (("--max-batch", "4", "--opt-batch", "8"), "--opt-batch must be within 1..4"),
        (("--workspace-gib", "-1"), "--workspace-gib must be positive"),
    ],
)
def test_bad_numbers(slim_checkpoint, tmp_path, capsys, args, message):
    assert export(slim_checkpoint, "--onnx", tmp_path / "m.onnx", *args) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def test_bad_paths(slim_checkpoint, tmp_path, capsys):
    assert export(tmp_path / "missing.pt", "--onnx", tmp_path / "m.onnx") == 1
    assert "checkpoint not found" in capsys.readouterr().err
    assert export("demo", "--onnx", tmp_path / "m.onnx") == 1
    assert "the demo model ships as ONNX only" in capsys.readouterr().err
    assert export(slim_checkpoint, "--onnx", tmp_path / "m.txt") == 1
    assert "--onnx must name a .onnx file" in capsys.readouterr().err
    assert export(slim_checkpoint, "--onnx", tmp_path / "no" / "such" / "m.onnx") == 1
    assert "does not exist" in capsys.readouterr().err
    folder = tmp_path / "folder.onnx"
    folder.mkdir()
    assert export(slim_checkpoint, "--onnx", folder, "--overwrite") == 1
    assert "is a folder; give a file name" in capsys.readouterr().err
    assert folder.is_dir()


def test_console_script_exit_code_and_one_line(tmp_path):
    script = Path(sys.executable).parent / "ssd-rt-export"
    if not script.exists():
        pytest.skip("ssd-rt-export is not installed in this environment (pip install -e .)")
    result = subprocess.run(
        [str(script), str(tmp_path / "missing.pt"), "--onnx", str(tmp_path / "m.onnx")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"ssd-rt-export: error: checkpoint not found: {tmp_path / 'missing.pt'}"
    ]
