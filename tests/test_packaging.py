"""The package installs as declared and `import ssd_rt` pulls in no heavy optional dependency."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_needs_no_optional_dependency():
    code = (
        "import sys, ssd_rt, ssd_rt.model, ssd_rt.postprocess, ssd_rt.preprocess, ssd_rt.cli.run\n"
        "heavy = [m for m in ('tensorrt', 'PyQt6', 'onnxruntime', 'onnx', 'pycocotools')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_pyproject_declares_the_three_packages_and_extras():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert include == ["ssd_rt*", "trainer*", "gui*"]
    from setuptools import find_packages

    found = set(find_packages(ROOT, include=include))
    subpackages = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("ssd_rt", "trainer", "gui")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert subpackages <= found  # every subpackage ships in a wheel, not only in editable mode
    extras = project["project"]["optional-dependencies"]
    assert {"gui", "onnx", "tensorrt", "coco", "dev"} <= set(extras)
    deps = " ".join(project["project"]["dependencies"])
    assert "opencv-python-headless" in deps
    assert "opencv-python>" not in deps and "opencv-python " not in deps


def test_constraints_pin_a_torch_torchvision_pair():
    pins = dict(
        line.split("==")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert "torch" in pins and "torchvision" in pins


def test_installed_torchvision_ops_load():
    """The CPU-only torch wheel has no matching torchvision: fail if such a pair slipped in."""
    import torch
    from torchvision.ops import nms

    keep = nms(torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1]]), torch.tensor([0.9, 0.8]), 0.5)
    assert keep.tolist() == [0]
