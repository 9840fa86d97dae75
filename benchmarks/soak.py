"""Soak run: the demo source through the whole pipeline for many frames, headless, watching
memory (RSS) and threads for leaks.

    .venv/bin/python benchmarks/soak.py [--frames 20000] [--model engines/demo.onnx]

The demo runs in file mode (every frame, as fast as inference allows) with the JSON-lines sink.
RSS is sampled every `--every` frames; after the warm-up (the first 10% of frames, when the
allocators and ONNX Runtime's arenas grow) it must stay within 5% of the post-warm-up median.
Threads: the count after the run must not exceed the count before it. Exits 1 if either fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ssd_rt.backends.base import load_backend
from ssd_rt.model_search import default_model
from ssd_rt.video.detector import Detector
from ssd_rt.video.pipeline import Pipeline
from ssd_rt.video.readers import DemoReader
from ssd_rt.video.sinks import JsonLinesWriter
from ssd_rt.video.sources import Source

TOLERANCE = 0.05


def rss_mib() -> float:
    """Resident set size of this process (Linux /proc), MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def os_threads() -> int:
    """Threads of this process as the OS sees them (ONNX Runtime's and OpenCV's included)."""
    return len(os.listdir("/proc/self/task"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=500, help="frames between RSS samples")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()

    model = args.model or default_model()
    backend = load_backend(model, args.backend, "auto")
    detector = Detector(backend, conf=0.4)
    # A short run first: the thread pools that torch, ONNX Runtime and OpenCV start lazily
    # (once per process) are not a leak; what a run leaves behind would be.
    warm_up = Pipeline(Source(DemoReader(live=False, count=50)).start(), detector, []).start()
    warm_up.wait()
    warm_up.stop()
    threads_before = threading.active_count(), os_threads()
    samples: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Source(DemoReader(live=False, count=args.frames)).start()
        sink = JsonLinesWriter(Path(tmp) / "soak.jsonl", detector.class_names)
        pipeline = Pipeline(source, detector, [sink], batch=1).start()
        t0 = time.perf_counter()
        next_sample = 0
        while not pipeline.wait(0.2):
            if pipeline.stats.frames >= next_sample:
                samples.append((pipeline.stats.frames, rss_mib()))
                next_sample += args.every
        seconds = time.perf_counter() - t0
        pipeline.stop()
        lines = sink.lines
    threads_after = threading.active_count(), os_threads()
    samples.append((pipeline.stats.frames, rss_mib()))

    warm = [rss for frames, rss in samples if frames >= args.frames * 0.1]
    median = statistics.median(warm)
    spread = max(abs(r - median) for r in warm) / median
    print(f"{pipeline.stats.frames} frames in {seconds:.0f} s "
          f"({pipeline.stats.frames / seconds:.1f} frames/s), {lines} JSON lines, "
          f"model {model} on {backend.describe()}")  # fmt: skip
    print(
        "RSS MiB by frame: "
        + ", ".join(f"{f}:{r:.0f}" for f, r in samples[:: max(1, len(samples) // 12)])
    )
    print(f"after warm-up: median {median:.1f} MiB, min {min(warm):.1f}, max {max(warm):.1f}, "
          f"largest deviation {spread * 100:.2f}% (limit {TOLERANCE * 100:.0f}%)")  # fmt: skip
    print(f"threads (Python, OS) before the run {threads_before}, after {threads_after}")
    leak = any(a > b for a, b in zip(threads_after, threads_before))
    ok = spread <= TOLERANCE and not leak and pipeline.error is None
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
