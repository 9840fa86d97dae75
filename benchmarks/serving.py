"""Triton serving against local ONNX Runtime processes: clients, frames/s, p90, cost per request.

    .venv/bin/python benchmarks/serving.py [--seconds 6] [--clients 1 2 4 8] [--model demo]

Starts the nvidia-pytriton wheel's tritonserver on 127.0.0.1 with MODEL exported as a Python
backend entry (ONNX Runtime inside Triton, dynamic batching, max batch 8), then for each client
count N runs, for --seconds each, in the same run:
- N client processes sending batch-1 requests (`--model triton://...`, gRPC), and
- N local processes running the same ONNX file on ONNX Runtime (1 thread each, the baseline),
and prints aggregate frames/s and p90 request latency of both, and their ratio. Then the cost
Triton adds per request at batch 1: one client's mean latency minus the server's mean compute
time for the same requests (from its statistics). Prints the CPU: a CPU-only server shares the
cores with its clients, so these figures say what Triton costs here, not what a GPU server does.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ssd_rt.machine import describe_cpu  # noqa: E402 (after the path insert)


def client(model: str, seconds: float, start_at: float, queue) -> None:
    """One process: batch-1 requests for `seconds` from `start_at`; puts its latencies (ms)."""
    import torch

    from ssd_rt.backends import load_backend

    backend = load_backend(model, "auto" if model.startswith("triton") else "onnxruntime",
                           "cpu", threads=None if model.startswith("triton") else 1)  # fmt: skip
    images = torch.randn(1, 3, backend.input_size, backend.input_size)
    backend.infer(images)  # warm
    while time.monotonic() < start_at:
        time.sleep(0.01)
    latencies, end = [], start_at + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        backend.infer(images)
        latencies.append((time.perf_counter() - t) * 1000)
    queue.put(latencies)


def run_clients(model: str, count: int, seconds: float) -> tuple[float, float]:
    """(aggregate frames/s, p90 ms) of `count` processes against `model`."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    start_at = time.monotonic() + 8.0  # every process imported and warmed by then
    procs = [context.Process(target=client, args=(model, seconds, start_at, queue))
             for _ in range(count)]  # fmt: skip
    for p in procs:
        p.start()
    latencies = [ms for _ in procs for ms in queue.get(timeout=120)]
    for p in procs:
        p.join()
    latencies.sort()
    return len(latencies) / seconds, latencies[int(len(latencies) * 0.9)]


def request_cost(server, name: str, url: str, requests: int = 50) -> tuple[float, float]:
    """(client mean ms, server compute mean ms) over `requests` sequential batch-1 requests."""
    import torch

    from ssd_rt.backends import load_backend
    from tests.triton_server import statistics

    backend = load_backend(url)
    images = torch.randn(1, 3, backend.input_size, backend.input_size)
    backend.infer(images)
    before = statistics(server, name)["inference_stats"]["compute_infer"]
    t = time.perf_counter()
    for _ in range(requests):
        backend.infer(images)
    client_ms = (time.perf_counter() - t) * 1000 / requests
    after = statistics(server, name)["inference_stats"]["compute_infer"]
    compute_ns = int(after["ns"]) - int(before["ns"])
    return client_ms, compute_ns / 1e6 / (int(after["count"]) - int(before["count"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--model", default="demo", help="a model ssd-rt-export reads (demo)")
    args = parser.parse_args()
    from ssd_rt.cli.common import run_command
    from ssd_rt.cli.export import main as export
    from tests.triton_server import TritonServer

    print(describe_cpu())
    with tempfile.TemporaryDirectory(prefix="ssd-rt-serving-") as tmp:
        repo = Path(tmp) / "repo"
        if run_command("ssd-rt-export", export, [args.model, "--triton-repo", str(repo),
                                                 "--platform", "python"]) != 0:  # fmt: skip
            return 1
        local = str(repo / "ssd" / "1" / "model.onnx")
        with TritonServer(repo) as server:
            url = server.url("ssd")
            print(f"model {args.model}, batch-1 requests, {args.seconds:g} s per row; Triton "
                  f"(Python backend, dynamic batching) vs local ONNX Runtime, 1 thread each")
            print(f"{'clients':>7} {'triton img/s':>13} {'p90 ms':>8} {'local img/s':>12} "
                  f"{'p90 ms':>8} {'triton/local':>13}")  # fmt: skip
            for count in args.clients:
                served, served_p90 = run_clients(url, count, args.seconds)
                alone, alone_p90 = run_clients(local, count, args.seconds)
                print(f"{count:>7} {served:>13.1f} {served_p90:>8.1f} {alone:>12.1f} "
                      f"{alone_p90:>8.1f} {served / alone:>12.2f}x")  # fmt: skip
            client_ms, compute_ms = request_cost(server, "ssd", url)
            print(f"cost per batch-1 request: client {client_ms:.2f} ms - server compute "
                  f"{compute_ms:.2f} ms = {client_ms - compute_ms:.2f} ms added by Triton "
                  f"(gRPC, queue, Python backend)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
