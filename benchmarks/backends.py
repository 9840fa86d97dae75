"""Inference backends against torchvision's SSD300, measured side by side in one run.

The same measurement as the `ssd-rt-bench` command (ssd_rt/bench.py), with every CPU backend
as the default (torch, ONNX Runtime and OpenVINO in FP32 and INT8; bf16 where the CPU has it):

    .venv/bin/python benchmarks/backends.py [--batches 1 8] [--runs 5] [ssd-rt-bench options]

Prints, per backend and batch, pre/infer/post medians, median and p90 latency, images/s and the
ratio to torchvision's ssd300_vgg16 (eager) on the same frames.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ssd_rt.cli.bench import main
from ssd_rt.cli.common import run_command

CPU_BACKENDS = "torch,onnxruntime,onnxruntime-int8,openvino,openvino-int8"


def default_args() -> list[str]:
    """Every CPU backend; bf16 only where the CPU has it natively (elsewhere it is refused)."""
    from ssd_rt.machine import bf16_problem, cpu_flags

    return ["--backends", CPU_BACKENDS + ("" if bf16_problem(cpu_flags()) else ",torch-bf16")]


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="backends.py: %(message)s")
    argv = sys.argv[1:]
    if not any(a.startswith("--backends") for a in argv):
        argv = default_args() + argv
    sys.exit(run_command("benchmarks/backends.py", main, argv))
