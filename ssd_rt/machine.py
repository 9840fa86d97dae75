"""The machine a benchmark ran on, in one line: CPU model and the instruction sets that decide
CPU inference speed (figures from machines without the same sets do not compare). Printed by
`ssd-rt-bench` and the scripts in benchmarks/."""

from __future__ import annotations

import os
import platform
from pathlib import Path

# /proc/cpuinfo flag -> the name used in notes and docs
INSTRUCTION_SETS = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_bf16": "AVX512-BF16",
                    "amx_tile": "AMX", "avx512_vnni": "AVX512-VNNI",
                    "avx_vnni": "AVX-VNNI"}  # fmt: skip


NATIVE_BF16 = ("avx512_bf16", "amx_bf16")  # flags of CPUs that compute bf16 in hardware


def _cpuinfo() -> tuple[str, set[str] | None]:
    """(model name, flags); flags None where /proc/cpuinfo is not there (not Linux)."""
    model, flags = platform.processor() or platform.machine(), None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    return model, flags


def cpu_flags() -> set[str] | None:
    return _cpuinfo()[1]


def bf16_problem(flags: set[str] | None) -> str | None:
    """Why bf16 must not run on this CPU, or None. Without AVX512-BF16 or AMX, PyTorch
    emulates bf16 in software: full-width SSD300 ran 6.7x slower than torchvision's fp32 on an
    AVX2-only AMD EPYC. Unknown flags (not Linux) are given the benefit of the doubt."""
    if flags is None or any(flag in flags for flag in NATIVE_BF16):
        return None
    return (
        "bf16 needs a CPU with AVX512-BF16 or AMX (this one has neither, so it would be "
        "emulated, several times slower than fp32); use fp32, or the onnxruntime backend"
    )


def describe_cpu() -> str:
    model, flags = _cpuinfo()
    flags = flags or set()
    has = [name for flag, name in INSTRUCTION_SETS.items() if flag in flags]
    lacks = [name for flag, name in INSTRUCTION_SETS.items() if flag not in flags]
    return (f"CPU: {model}, {os.cpu_count()} cores; has {', '.join(has) or 'none'}; "
            f"lacks {', '.join(lacks) or 'none'}")  # fmt: skip
