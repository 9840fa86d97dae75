"""The model named "coco": torchvision's SSD300 COCO_V1 weights as ssd-rt files in engines/.

First use: torchvision's weights API downloads the state dict into the torch hub cache (its
progress bar and hash check), it is converted exactly (`torchvision_ssd`) and written as
engines/coco.pt (checkpoint) and engines/coco.onnx (+ coco.engine where TensorRT and a GPU
exist). Later uses find those files and convert nothing. Offline, one line says what could not be
downloaded, from where, and the path where a hand-downloaded file is picked up; `--weights FILE`
converts a local copy instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ssd_rt.errors import WeightsError
from ssd_rt.files import sha256_of

log = logging.getLogger("ssd_rt")

NAME = "coco"
CHECKPOINT_NAME = "coco.pt"
ONNX_NAME = "coco.onnx"


@dataclass(frozen=True)
class CocoFiles:
    checkpoint: Path  # engines/coco.pt: what ssd-rt-export and ssd-rt-train --init read
    onnx: Path | None  # engines/coco.onnx: what ssd-rt, the player, eval and bench run


def _weights_enum():
    from torchvision.models.detection import SSD300_VGG16_Weights

    return SSD300_VGG16_Weights.COCO_V1


def hub_cache_file() -> Path:
    """Where torch hub keeps (and looks for) the downloaded COCO_V1 state dict."""
    import torch

    url = _weights_enum().url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def _download_state_dict() -> tuple[dict, Path]:
    weights = _weights_enum()
    cached = hub_cache_file()
    try:
        state = weights.get_state_dict(progress=True, check_hash=True, weights_only=True)
    except Exception as err:  # URLError, HTTPError, hash mismatch, a corrupt cached file
        if cached.is_file():
            raise WeightsError(
                f"cannot read {cached} ({type(err).__name__}: {err}); delete it to download again"
            ) from None
        reason = getattr(err, "reason", None) or err
        raise WeightsError(
            f"could not download torchvision's SSD300 COCO weights from {weights.url} "
            f"({reason}); download that file by hand to {cached}, or pass --weights FILE"
        ) from None
    return state, cached


def _read_weights_file(path: Path) -> dict:
    import torch

    if not path.is_file():
        raise WeightsError(f"--weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # data, never code
    except Exception as err:  # pickle, zip and torch errors all mean "not a weights file"
        raise WeightsError(f"cannot read {path}: {type(err).__name__}: {err}") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # torchvision's reference scripts save {"model": ..., ...}
    return state


def search_folders() -> tuple[Path, ...]:
    from ssd_rt.model_search import MODELS_FOLDER

    return (MODELS_FOLDER,)


def find_converted() -> CocoFiles | None:
    for folder in search_folders():
        checkpoint = folder / CHECKPOINT_NAME
        if checkpoint.is_file():
            onnx = folder / ONNX_NAME
            return CocoFiles(checkpoint, onnx if onnx.is_file() else None)
    return None


def ensure_coco(
    weights: Path | None = None,
    folder: Path = Path("engines"),
    say: Callable[[str], None] = lambda m: log.warning("%s", m),
    want_onnx: bool = True,
) -> CocoFiles:
    """The converted COCO model's files, converting (and downloading) on first use."""
    found = find_converted()
    if found is not None and weights is not None:
        _check_same_source(found.checkpoint, Path(weights))
    if found is None:
        found = _convert(weights, folder, say)
    if want_onnx and found.onnx is None:
        found = CocoFiles(found.checkpoint, _export(found.checkpoint, say))
    return found


def _check_same_source(checkpoint: Path, weights: Path) -> None:
    from ssd_rt.checkpoint import load_checkpoint

    if not weights.is_file():
        raise WeightsError(f"--weights file not found: {weights}")
    recorded = load_checkpoint(checkpoint).extra.get("source_sha256")
    if recorded != sha256_of(weights):
        raise WeightsError(
            f"{checkpoint} was converted from other weights than {weights}; move "
            f"{checkpoint.parent / 'coco.*'} away to convert {weights}"
        )


def _convert(weights: Path | None, folder: Path, say: Callable[[str], None]) -> CocoFiles:
    from ssd_rt.checkpoint import save_checkpoint
    from ssd_rt.files import require_writable_folder
    from ssd_rt.pretrained.torchvision_ssd import build_model

    require_writable_folder(folder, "the converted COCO model")
    if weights is not None:
        state, source = _read_weights_file(Path(weights)), Path(weights)
    else:
        state, source = _download_state_dict()
    model, config, names = build_model(state, _weights_enum().meta["categories"])
    checkpoint = folder / CHECKPOINT_NAME
    extra = {"kind": "converted", "source": "torchvision ssd300_vgg16 COCO_V1",
             "source_file": str(source), "source_sha256": sha256_of(source)}  # fmt: skip
    save_checkpoint(checkpoint, model, config, names, extra)
    say(f"converted torchvision's SSD300 COCO weights ({source}) into {checkpoint}")
    return CocoFiles(checkpoint, None)


def _export(checkpoint: Path, say: Callable[[str], None]) -> Path | None:
    try:
        import onnx  # noqa: F401
    except ImportError:
        say("no coco.onnx: the onnx extra is not installed (pip install 'ssd-rt[onnx]')")
        return None
    from ssd_rt.export.bundle import export_runnable

    onnx_path = checkpoint.with_name(ONNX_NAME)
    say(f"exporting {onnx_path} (once; about a minute on a CPU)")
    export_runnable(checkpoint, onnx_path, log=say)
    return onnx_path
