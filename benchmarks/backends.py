"""Inference backends against torchvision's SSD300, measured side by side in one run.

The same measurement as the `ssd-rt-bench` command (ssd_rt/bench.py), with this project's
reference set of backends as the default:

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

DEFAULT_ARGS = ["--backends", "torch,torch-bf16,onnxruntime"]

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="backends.py: %(message)s")
    argv = sys.argv[1:]
    if not any(a.startswith("--backends") for a in argv):
        argv = DEFAULT_ARGS + argv
    sys.exit(run_command("benchmarks/backends.py", main, argv))
