"""A program CI must test with (SSD_RT_REQUIRE) that is missing fails the run, not skips."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_missing_required_program_fails_the_run():
    env = {**os.environ, "SSD_RT_REQUIRE": "sh no-such-program-ssd-rt"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_redact.py"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 3, run.stdout + run.stderr
    assert "missing: no-such-program-ssd-rt" in run.stdout + run.stderr


def test_present_programs_let_the_run_go_on():
    env = {**os.environ, "SSD_RT_REQUIRE": "sh"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_redact.py"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
