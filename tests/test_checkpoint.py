"""Checkpoints: round trip, atomic writes, and every kind of wrong file as one clear error."""

import os

import pytest
import torch

from ssd_rt.checkpoint import load_checkpoint, load_model, save_checkpoint
from ssd_rt.config import COCO_PRIORS, SSDConfig
from ssd_rt.errors import ConfigError, WeightsError
from ssd_rt.files import atomic_write_bytes
from ssd_rt.model import SSD300
from ssd_rt.model_format import config_from_dict, config_to_dict


def test_round_trip(tmp_path):
    config = SSDConfig(num_classes=3, width=0.125, norm="none", priors=COCO_PRIORS)
    model = SSD300(config)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, config, ["cat", "dog"], extra={"step": 7})
    loaded, checkpoint = load_model(path)
    assert checkpoint.config == config
    assert checkpoint.class_names == ("cat", "dog")
    assert checkpoint.extra == {"step": 7}
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert not loaded.training


def test_config_dict_round_trip_is_plain_json():
    import json

    config = SSDConfig(num_classes=21)
    data = json.loads(json.dumps(config_to_dict(config)))
    assert config_from_dict(data) == config


def test_malformed_config_dict():
    with pytest.raises(ConfigError, match="incomplete or malformed"):
        config_from_dict({"num_classes": 3})


def test_write_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    config = SSDConfig(num_classes=2, width=0.125)
    path = tmp_path / "m.pt"
    save_checkpoint(path, SSD300(config), config, ["a"])
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, SSD300(config), config, ["a"])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left behind


def test_class_names_must_match_the_model(tmp_path):
    config = SSDConfig(num_classes=3, width=0.125)
    with pytest.raises(ConfigError, match="1 class names for a model with 2 classes"):
        save_checkpoint(tmp_path / "m.pt", SSD300(config), config, ["a"])
    with pytest.raises(ConfigError, match="class names must be unique"):
        save_checkpoint(tmp_path / "m.pt", SSD300(config), config, ["a", "a"])


def test_wrong_files(tmp_path):
    with pytest.raises(WeightsError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00\x01 not a zip")
    with pytest.raises(WeightsError, match="cannot read checkpoint"):
        load_checkpoint(garbage)
    plain = tmp_path / "plain.pt"
    torch.save(SSD300(SSDConfig(num_classes=2, width=0.125)).state_dict(), plain)
    with pytest.raises(WeightsError, match="is not an ssd-rt checkpoint"):
        load_checkpoint(plain)


def test_weights_that_do_not_fit_their_config(tmp_path):
    config = SSDConfig(num_classes=2, width=0.125)
    path = tmp_path / "m.pt"
    save_checkpoint(path, SSD300(SSDConfig(num_classes=2, width=0.25)), config, ["a"])
    with pytest.raises(WeightsError, match="weights do not fit its own config"):
        load_model(path)


def test_written_files_get_the_users_usual_mode(tmp_path):
    path = tmp_path / "mode.bin"
    atomic_write_bytes(path, lambda f: f.write(b"x"))
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
