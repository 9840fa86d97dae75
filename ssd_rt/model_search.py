"""Which model runs when none is named, and which models a picker offers.

Two places hold models: `./engines/` (MODELS_FOLDER: what the user built or converted, e.g. with
`ssd-rt-train --to-engines NAME` or `--model coco`; the name is historical: it holds ONNX files
and checkpoints too) and `ssd_rt/shipped/` inside the installed package (the demo model, found
without a checkout). `ssd-rt` without --model runs the newest .engine or .onnx in ./engines,
else the shipped demo model.
"""

from __future__ import annotations

from pathlib import Path

from ssd_rt.errors import WeightsError
from ssd_rt.model_format import is_runnable_name

MODELS_FOLDER = Path("engines")  # relative to the working directory
SHIPPED_MODELS = Path(__file__).resolve().parent / "shipped"  # package data
DEMO_MODEL = SHIPPED_MODELS / "demo.onnx"  # the model trained for the demo source's shapes
RUNNABLE_SUFFIXES = (".engine", ".onnx")


def newest_model(folder: Path) -> Path | None:
    """The most recently written .engine / .onnx in `folder` (FP16 build graphs left out)."""
    if not folder.is_dir():
        return None
    models = [p for p in folder.iterdir()
              if p.suffix in RUNNABLE_SUFFIXES and p.is_file() and is_runnable_name(p)]  # fmt: skip
    return max(models, key=lambda p: p.stat().st_mtime, default=None)


def default_model(folder: Path = MODELS_FOLDER) -> Path:
    found = newest_model(folder)
    if found is not None:
        return found
    if not DEMO_MODEL.is_file():
        raise WeightsError(f"no model given and none in {folder}/ (the demo model {DEMO_MODEL} "
                           "is missing from this installation); pass --model PATH")  # fmt: skip
    return DEMO_MODEL


def available_models(folders: tuple[Path, ...] = (MODELS_FOLDER, SHIPPED_MODELS)) -> list[Path]:
    """Every .engine / .onnx / .pt in `folders` (for a model picker), newest first; the FP16
    ONNX that an engine is built from is left out (it is not run by itself)."""
    found: dict[Path, Path] = {}
    for folder in folders:
        if folder.is_dir():
            for p in folder.iterdir():
                if (p.suffix in (*RUNNABLE_SUFFIXES, ".pt") and p.is_file()
                        and is_runnable_name(p)):  # fmt: skip
                    found.setdefault(p.resolve(), p)
    return sorted(found.values(), key=lambda p: p.stat().st_mtime, reverse=True)
