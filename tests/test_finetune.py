"""Fine-tuning: `ssd-rt-train --init CHECKPOINT|coco` transfers the network and the classifier
rows of the classes the data shares with the source model by name; new classes start fresh."""

from __future__ import annotations

import json

import pytest
import torch

from ssd_rt.checkpoint import Checkpoint, load_checkpoint
from ssd_rt.cli.common import run_command
from ssd_rt.cli.train import main
from ssd_rt.model import SSD300
from trainer.finetune import finetune_config, source_rows, transfer_weights


def conf_rows(model: SSD300, label: int) -> list[torch.Tensor]:
    """The classifier weights of one label at every anchor of every map."""
    k = model.config.num_logits
    heads = model.conf_heads
    return [head.weight.reshape(-1, k, *head.weight.shape[1:])[:, label] for head in heads]


def test_rows_by_name_with_case_spacing_and_voc_spellings():
    source = ("person", "airplane", "dining table", "tv", "potted plant")
    new = ("Aeroplane", "diningtable", "tvmonitor", "pottedplant", "unicorn", "PERSON")
    assert source_rows(source, new) == [0, 2, 3, 4, 5, None, 1]


def test_transfer_copies_network_and_shared_rows(slim_checkpoint):
    source = load_checkpoint(slim_checkpoint)  # classes circle, square, triangle
    model_src = SSD300(source.config)
    model_src.load_state_dict(source.state_dict)
    torch.manual_seed(5)
    model = SSD300(finetune_config(source.config, 4))
    transfer = transfer_weights(model, source, ("Square", "hexagon", "circle"))
    assert transfer.shared == ("Square", "circle") and transfer.new == ("hexagon",)
    for key, value in model.state_dict().items():
        if not key.startswith("conf_heads."):
            assert torch.equal(value, source.state_dict[key]), key
    for new_label, old_label in ((0, 0), (1, 2), (3, 1)):
        for ours, theirs in zip(conf_rows(model, new_label), conf_rows(model_src, old_label)):
            assert torch.equal(ours, theirs)
    for fresh, theirs in zip(conf_rows(model, 2), conf_rows(model_src, 3)):
        assert not torch.equal(fresh, theirs)  # hexagon is new: not the source's triangle


def test_transfer_from_the_converted_coco_model_drops_the_placeholders():
    tv = pytest.importorskip("torchvision.models.detection")
    from ssd_rt.pretrained.torchvision_ssd import build_model

    torch.manual_seed(0)
    state = tv.ssd300_vgg16(weights=None, weights_backbone=None, num_classes=91).state_dict()
    coco, config, names = build_model(state, tv.SSD300_VGG16_Weights.COCO_V1.meta["categories"])
    source = Checkpoint(config, names, coco.state_dict())
    model = SSD300(finetune_config(config, 3))
    assert model.config.folded_logits == 0 and model.config.normalization == config.normalization
    transfer = transfer_weights(model, source, ("person", "aeroplane"))
    assert transfer.shared == ("person", "aeroplane")
    airplane = names.index("airplane") + 1
    for ours, theirs in zip(conf_rows(model, 2), conf_rows(coco, airplane)):
        assert torch.equal(ours, theirs)
    with torch.no_grad():
        _, logits = model(torch.zeros(1, 3, 300, 300))
    assert logits.shape == (1, 8732, 3)


def train(*args) -> int:
    return run_command("ssd-rt-train", main, [str(a) for a in args])


def test_train_init_runs_the_finetune_preset(slim_checkpoint, tmp_path, capsys):
    out = tmp_path / "run"
    code = train("--data", "synthetic:12", "--init", slim_checkpoint, "--out", out, "--batch", 2,
                 "--steps", 2, "--eval-every", 2, "--eval-images", 4, "--workers", 0,
                 "--no-export")  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "initialized from" in err and "classes from it: triangle" in err
    assert "new classes: ellipse, rectangle, star" in err
    settings = json.loads((out / "run.json").read_text())
    assert settings["preset"] == "finetune" and settings["init"] == str(slim_checkpoint)
    best = load_checkpoint(out / "best.pt")
    assert best.config.width == 0.125 and best.config.num_classes == 5
    assert train("--resume", "--out", out, "--init", slim_checkpoint) == 1
    assert "drop --init" in capsys.readouterr().err


def test_train_init_refuses_a_second_network(slim_checkpoint, tmp_path, capsys):
    code = train("--data", "synthetic:12", "--init", slim_checkpoint, "--width", "0.5",
                 "--out", tmp_path / "run")  # fmt: skip
    assert code == 1
    line = capsys.readouterr().err.strip()
    assert line == ("ssd-rt-train: error: --init keeps the network of the model it starts "
                    "from; drop --width")  # fmt: skip
    assert train("--data", "synthetic:12", "--weights", "x.pth", "--out", tmp_path / "r") == 1
    assert "--weights goes with --init coco" in capsys.readouterr().err
