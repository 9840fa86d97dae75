"""Models known by name, resolved to files: `--model demo` (shipped with ssd-rt) and
`--model coco` (torchvision's COCO SSD300, converted once into engines/ on first use).

`resolve_model(text)` is what every command's --model goes through: a name becomes the file it
stands for, anything else is a path, returned as given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

MODEL_NAMES = ("coco", "demo")


def add_weights_option(parser: argparse.ArgumentParser) -> None:
    """--weights FILE, as each command with a --model takes it (the trainer words it for --init)."""
    parser.add_argument(
        "--weights",
        type=Path,
        help="with coco: convert this local torchvision COCO_V1 .pth instead of downloading",
    )


def resolve_model(text: str | Path, weights: Path | None = None, want: str = "run") -> Path:
    """--model TEXT -> a model file. want="run": a file a backend runs (ONNX where the onnx
    extra exists, else the checkpoint); want="checkpoint": the .pt (export, fine-tuning)."""
    from ssd_rt.triton.url import is_triton_url

    if is_triton_url(text):
        if weights is not None or want == "checkpoint":
            from ssd_rt.errors import ConfigError

            raise ConfigError("a triton:// model is served, not a file: it cannot be exported "
                              "or converted here")  # fmt: skip
        return str(text)  # kept a string: pathlib would collapse its "//"
    if str(text) != "coco" and weights is not None:
        from ssd_rt.errors import ConfigError

        raise ConfigError("--weights goes with --model coco (the file it converts)")
    if str(text) == "demo":
        from ssd_rt.model_search import DEMO_MODEL

        if want == "checkpoint":
            from ssd_rt.errors import ConfigError

            raise ConfigError("the demo model ships as ONNX only; there is no checkpoint of it")
        return DEMO_MODEL
    if str(text) not in MODEL_NAMES:
        if weights is not None:
            from ssd_rt.errors import ConfigError

            raise ConfigError("--weights goes with --model coco (the file it converts)")
        return Path(text)
    from ssd_rt.pretrained.coco import ensure_coco

    files = ensure_coco(weights, want_onnx=want == "run")
    if want == "checkpoint" or files.onnx is None:
        return files.checkpoint
    return files.onnx
