"""A program CI must test with (SSD_RT_REQUIRE) that is missing fails the run, not skips."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "required, code",
    [("sh no-such-program-ssd-rt", 3), ("sh", 0)],
    ids=["one-missing", "all-present"],
)
def test_required_programs_decide_whether_the_run_goes_on(required, code):
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_redact.py"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "SSD_RT_REQUIRE": required}, timeout=120)  # fmt: skip
    assert run.returncode == code, run.stdout + run.stderr
    missing = "missing: no-such-program-ssd-rt" in run.stdout + run.stderr
    assert missing == (code == 3)
