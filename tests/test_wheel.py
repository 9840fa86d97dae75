"""A wheel that works: built from a copy of the repository, installed (not editable) into a fresh
virtual environment, and run from a folder outside the repository, it finds its demo model.

Offline and quick: the wheel is built without build isolation (setuptools from this
environment, a dev dependency), installed with --no-deps --no-index, and the fresh environment
borrows this one's dependencies (torch, OpenCV, ONNX Runtime) through a .pth line. That line adds
the folder only: the editable install's finder (a .pth inside it) is not run, so `ssd_rt` can only
come from the wheel, which the test checks.
"""

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORED = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__",
                                 ".pytest_cache", ".ruff_cache", "runs", "test-artifacts",
                                 "engines")  # fmt: skip

pytestmark = pytest.mark.slow


def run(*args, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)  # fmt: skip
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh virtual environment with the ssd-rt wheel installed."""
    pytest.importorskip("setuptools", reason="building the wheel needs setuptools (dev extra)")
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", work / "dist", ".", cwd=source)  # fmt: skip
    wheels = list((work / "dist").glob("ssd_rt-*.whl"))
    assert len(wheels) == 1
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
               cwd=work).stdout.strip()  # fmt: skip
    Path(site, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "-q", wheels[0], cwd=work)  # fmt: skip
    return env_dir / "bin"


def test_the_wheel_carries_the_demo_model_and_runs_it_outside_the_repository(installed, tmp_path):
    where = run(installed / "python", "-c",
                "import ssd_rt, ssd_rt.model_search as m; print(ssd_rt.__file__); "
                "print(m.DEMO_MODEL.is_file())", cwd=tmp_path).stdout.split()  # fmt: skip
    assert where[0].startswith(str(installed.parent)) and where[1] == "True"  # from the wheel
    done = run(installed / "ssd-rt", "--source", "demo", "--max-frames", "30", "--headless",
               "--json-out", "out.jsonl", cwd=tmp_path)  # fmt: skip
    assert "shipped/demo.onnx" in done.stderr  # the model line names the packaged file
    assert done.stdout.splitlines()[0].startswith("30 frames in ")
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 30
    assert not (tmp_path / "engines").exists()


def test_every_command_of_the_wheel_starts(installed, tmp_path):
    for command in ("ssd-rt", "ssd-rt-gui", "ssd-rt-train", "ssd-rt-export", "ssd-rt-eval",
                    "ssd-rt-bench", "ssd-rt-data"):  # fmt: skip
        done = run(installed / command, "--help", cwd=tmp_path, timeout=120)
        assert done.stdout.startswith("usage: "), command
