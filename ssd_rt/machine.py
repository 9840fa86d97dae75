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


def describe_cpu() -> str:
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    has = [name for flag, name in INSTRUCTION_SETS.items() if flag in flags]
    lacks = [name for flag, name in INSTRUCTION_SETS.items() if flag not in flags]
    return (f"CPU: {model}, {os.cpu_count()} cores; has {', '.join(has) or 'none'}; "
            f"lacks {', '.join(lacks) or 'none'}")  # fmt: skip
