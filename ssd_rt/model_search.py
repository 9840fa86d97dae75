"""Where models live: the engines/ folder, its newest model, and the shipped demo model.

`ssd-rt` without --model runs the newest .engine or .onnx in ./engines (what the user built
last, e.g. with `ssd-rt-train --to-engines NAME`), else the demo model that ships with ssd-rt
in the repository's engines/ folder.
"""

from __future__ import annotations

from pathlib import Path

from ssd_rt.errors import WeightsError
from ssd_rt.model_format import is_runnable_name

PACKAGE_ENGINES = Path(__file__).resolve().parents[1] / "engines"  # the repository's engines/
DEMO_NAME = "demo.onnx"
MODEL_SUFFIXES = (".engine", ".onnx")


def newest_model(folder: Path) -> Path | None:
    """The most recently written .engine / .onnx in `folder`, the demo model excluded."""
    if not folder.is_dir():
        return None
    models = [p for p in folder.iterdir()
              if p.suffix in MODEL_SUFFIXES and p.is_file() and p.name != DEMO_NAME
              and is_runnable_name(p)]  # fmt: skip
    return max(models, key=lambda p: p.stat().st_mtime, default=None)


def default_model(cwd_engines: Path = Path("engines")) -> Path:
    for folder in (cwd_engines, PACKAGE_ENGINES):
        found = newest_model(folder)
        if found is not None:
            return found
    demo = PACKAGE_ENGINES / DEMO_NAME
    if not demo.is_file():
        raise WeightsError(f"no model given and none in engines/ (the demo model {demo} is "
                           "missing); pass --model PATH")  # fmt: skip
    return demo


def available_models(folders: tuple[Path, ...] = (Path("engines"), PACKAGE_ENGINES)) -> list[Path]:
    """Every .engine / .onnx / .pt in the engines folders (for a model picker), newest first;
    the FP16 ONNX that an engine is built from is left out (it is not run by itself)."""
    found: dict[Path, Path] = {}
    for folder in folders:
        if folder.is_dir():
            for p in folder.iterdir():
                if (p.suffix in (*MODEL_SUFFIXES, ".pt") and p.is_file()
                        and is_runnable_name(p)):  # fmt: skip
                    found.setdefault(p.resolve(), p)
    return sorted(found.values(), key=lambda p: p.stat().st_mtime, reverse=True)
