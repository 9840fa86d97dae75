"""`tools/stage_times.py` (per-stage timing, random weights): subprocesses, output, exits."""

import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "stage_times.py"


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TOOL), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_prints_detections_and_timings():
    result = run_demo("--width", "0.125", "--runs", "2", "--conf", "0.01", "--frame", "480x640")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "on cpu" in out
    assert "frame 640x480" in out
    assert "8732 default boxes" in out
    assert "detections above score 0.01" in out
    assert "px" in out  # boxes printed in frame pixels
    for stage in ("preprocess", "network", "postprocess", "total"):
        assert stage in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--width", "-1"), "width must be a positive number, got -1.0"),
        (("--frame", "12"), "--frame must be HEIGHTxWIDTH"),
        (("--frame", "5x5"), "--frame sides must be 16..8192 pixels"),
        (("--device", "tpu"), "unknown device 'tpu'"),
        (("--conf", "1.5"), r"score threshold must be in [0, 1)"),
    ],
)
def test_demo_bad_input_is_one_line(args, message):
    result = run_demo(*args)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"ssd-rt-demo: error: {result.stderr.split('error: ', 1)[1].strip()}"
    )
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_demo_cuda_without_gpu_is_one_line():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present; this checks the message on machines without one")
    result = run_demo("--device", "cuda")
    assert result.returncode == 1
    assert "no CUDA device is available" in result.stderr
    assert "Traceback" not in result.stderr
