"""`ssd-rt-bench` prints a row per backend and batch with its ratio to torchvision's SSD300."""

import math

import pytest

from ssd_rt.cli.bench import main
from ssd_rt.cli.common import run_command

pytest.importorskip("onnxruntime", reason="needs the onnx extra")


def test_bench_prints_ratios_against_torchvision(capsys):
    args = ["--width", "0.125", "--batches", "1", "--runs", "1", "--warmup", "0", "--device", "cpu"]
    assert run_command("ssd-rt-bench", main, [*args, "--backends", "torch,onnxruntime"]) == 0
    out = capsys.readouterr().out
    assert "torchvision ssd300_vgg16 (eager)" in out
    assert "torch on cpu (fp32)" in out
    assert "onnxruntime on cpu (fp32)" in out
    assert "note: the model has width 0.125" in out
    rows = [line for line in out.splitlines() if line.rstrip().endswith("x")]
    assert len(rows) == 3  # baseline + two backends, each with a ratio
    for row in rows:  # median ms, p90 ms, images/s, ratio: real numbers, not NaN or zero
        *_, median, p90, rate, ratio = row.split()
        values = [float(median), float(p90), float(rate), float(ratio.rstrip("x"))]
        assert all(math.isfinite(v) and v > 0 for v in values), row
        assert float(p90) >= float(median)
    assert rows[0].split()[-1] == "1.00x"  # the baseline against itself


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backends", "tflite"], "unknown backend(s) ['tflite']"),
        (["--runs", "0"], "--batches and --runs must be positive"),
        (["--threads", "0"], "--threads must be a positive integer"),
        (["--model", "/nonexistent/model.pt", "--no-baseline"], "checkpoint not found"),
        (["--device", "tpu"], "unknown device 'tpu'"),
    ],
)
def test_bench_bad_input(args, message, capsys):
    assert run_command("ssd-rt-bench", main, args) == 1
    assert message in capsys.readouterr().err


def test_bf16_is_compared_with_torchvision_in_bf16_too(capsys):
    from ssd_rt.machine import bf16_problem, cpu_flags

    if (problem := bf16_problem(cpu_flags())) is not None:
        pytest.skip(problem)
    args = ["--width", "0.125", "--batches", "1", "--runs", "1", "--warmup", "0", "--device", "cpu"]
    assert run_command("ssd-rt-bench", main, [*args, "--backends", "torch-bf16"]) == 0
    out = capsys.readouterr().out
    assert "torchvision ssd300_vgg16 (eager, bf16 autocast)" in out
    [like] = [line for line in out.splitlines() if "like for like" in line]
    assert math.isfinite(float(like.rsplit(" ", 1)[1].rstrip("x")))
