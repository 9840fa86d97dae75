"""The other commands on bad files and full disks: one line naming the file, exit 1, nothing
left that blocks a rerun. Real processes, real files, a real full disk (a tmpfs in a private
mount namespace) where one is needed."""

from __future__ import annotations

import pickle
import signal
import subprocess
import sys
import time

import pytest

from tests.data_files import make_voc, make_yolo
from tests.faults import command, run_on_full_disk, tmpfs_problem

needs_tmpfs = pytest.mark.skipif(tmpfs_problem() is not None, reason=str(tmpfs_problem()))
TINY_TRAIN = ["--preset", "shapes-demo", "--batch", "2", "--warmup", "0", "--eval-images", "4",
              "--no-export"]  # fmt: skip


def one_error_line(stderr: str, prefix: str) -> str:
    """The command's error line; nothing that looks like a traceback anywhere."""
    assert "Traceback" not in stderr and "Caught" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith(f"{prefix}: error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


@needs_tmpfs
@pytest.mark.slow
@pytest.mark.parametrize("what", ["export", "eval", "train"])
def test_a_full_disk_is_one_line_naming_the_file(tmp_path, slim_checkpoint, what):
    disk, kept = tmp_path / "disk", tmp_path / "kept"
    commands = {
        "export": ("ssd-rt-export", "export", [slim_checkpoint, "--onnx", disk / "slim.onnx"],
                   "32k"),
        "eval": ("ssd-rt-eval", "eval", ["--model", "demo", "--data", "synthetic:8",
                                         "--metrics", "voc07", "--out", disk / "report"], "8k"),
        "train": ("ssd-rt-train", "train", [*TINY_TRAIN, "--data", "synthetic:8", "--steps",
                                            "2", "--out", disk / "run"], "64k"),
    }  # fmt: skip
    prog, module, args, size = commands[what]
    argv = [sys.executable, "-m", f"ssd_rt.cli.{module}", *args]
    rc, done = run_on_full_disk(argv, disk, size, kept)
    assert rc == 1, done.stderr
    line = one_error_line(done.stderr, prog)
    assert line.endswith("No space left on device") and str(disk) in line
    # Nothing half-written under a final name: atomic writes leave no temporary file either.
    assert not [p for p in kept.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    if what == "eval":
        assert not (kept / "report" / "report.json").exists()  # the marker comes last


def test_a_learning_rate_that_overflows_is_refused(tmp_path):
    run = command("train", *TINY_TRAIN, "--data", "synthetic:8", "--lr", "1e300",
                  "--out", tmp_path / "run")  # fmt: skip
    assert run.returncode == 1
    line = one_error_line(run.stderr, "ssd-rt-train")
    assert "--lr: must be above 0 and at most 10, got 1e300" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_run_killed_before_its_first_checkpoint_does_not_block_a_rerun(tmp_path):
    out = tmp_path / "run"
    args = [*TINY_TRAIN, "--data", "synthetic:8", "--out", out]
    proc = subprocess.Popen([sys.executable, "-m", "ssd_rt.cli.train", *map(str, args),
                             "--steps", "100000", "--save-every", "100000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "run.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert (out / "run.json").exists() and not (out / "last.pt").exists()
    rerun = command("train", *args, "--steps", "1")
    assert rerun.returncode == 0, rerun.stderr
    assert "stopped before its first checkpoint; starting over" in rerun.stderr
    assert (out / "last.pt").exists()


@pytest.fixture
def voc_with_a_corrupt_jpeg(tmp_path):
    objects = [("star", 10, 10, 60, 60)]
    voc = make_voc(tmp_path / "voc", {f"im{i}": objects for i in range(4)}, split="train")
    for split in ("trainval", "test"):
        (voc / f"ImageSets/Main/{split}.txt").write_text(
            (voc / "ImageSets/Main/train.txt").read_text()
        )
    (voc / "JPEGImages" / "im2.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return voc


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 1])
def test_a_corrupt_jpeg_is_named_whatever_the_number_of_workers(voc_with_a_corrupt_jpeg, tmp_path,
                                                                workers):  # fmt: skip
    voc = voc_with_a_corrupt_jpeg
    train = command("train", *TINY_TRAIN, "--data", f"voc:{voc}", "--workers", workers,
                    "--steps", "3", "--out", tmp_path / f"run{workers}")  # fmt: skip
    assert train.returncode == 1
    assert "im2.jpg" in one_error_line(train.stderr, "ssd-rt-train")
    evaluate = command("eval", "--model", "demo", "--data", f"voc:{voc}", "--metrics", "voc07",
                       "--workers", workers, "--out", tmp_path / f"eval{workers}")  # fmt: skip
    assert evaluate.returncode == 1
    assert "im2.jpg" in one_error_line(evaluate.stderr, "ssd-rt-eval")


def test_data_check_decodes_every_image(voc_with_a_corrupt_jpeg):
    voc = voc_with_a_corrupt_jpeg
    check = command("data", "check", f"voc:{voc}")
    assert check.returncode == 1
    line = one_error_line(check.stderr, "ssd-rt-data")
    assert "cannot decode image" in line and "im2.jpg" in line
    assert "images that cannot be used:" in check.stdout  # after the summary
    headers_only = command("data", "check", f"voc:{voc}", "--no-decode")
    assert headers_only.returncode == 0, headers_only.stderr


def test_data_check_lists_each_box_with_its_reason(tmp_path):
    yolo = make_yolo(
        tmp_path / "yolo",
        {
            "a": "0 nan 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n",
            "b": "0 0.95 0.5 0.2 0.2\n0 0.5 0.5 0 0.1\n",
        },
        ["star"],
    )
    check = command("data", "check", f"yolo:{yolo}")
    assert check.returncode == 0, check.stderr
    out = check.stdout
    assert "non-finite coordinates (NaN or inf): 1" in out and "zero or negative size: 1" in out
    assert "a.jpg: box [nan, " in out and "dropped: non-finite coordinates" in out
    assert "b.jpg: box [170, 40, 210, 60] clipped to the 200x100 image" in out
    assert "b.jpg: box [100, 45, 100, 55] dropped: zero or negative size" in out


def test_eval_on_data_sharing_no_class_with_the_model_is_refused(tmp_path):
    voc = make_voc(tmp_path / "voc", {"im0": [("comet", 10, 10, 60, 60)]}, split="test")
    run = command("eval", "--model", "demo", "--data", f"voc:{voc}", "--metrics", "voc07",
                  "--out", tmp_path / "report")  # fmt: skip
    assert run.returncode == 1
    line = one_error_line(run.stderr, "ssd-rt-eval")
    assert "none of its 1 objects is of a class the model detects" in line
    assert not (tmp_path / "report" / "report.json").exists()


@pytest.mark.parametrize("damage", ["truncated", "foreign-pickle", "not-torch"])
def test_a_damaged_or_foreign_checkpoint_is_one_line(tmp_path, slim_checkpoint, damage):
    bad = tmp_path / "bad.pt"
    data = slim_checkpoint.read_bytes()
    if damage == "truncated":
        bad.write_bytes(data[: len(data) // 2])
        expected = "the file is truncated or damaged"
    elif damage == "foreign-pickle":
        import torch

        torch.save({"model": pickle.PickleError("x")}, bad)  # an object, not only tensors
        expected = "it holds Python objects, not only tensors"
    else:
        bad.write_text("hello")
        expected = "not a PyTorch file"
    for module, args in (("export", [bad, "--onnx", tmp_path / "x.onnx"]),
                         ("run", ["--source", "demo", "--model", bad, "--headless"])):  # fmt: skip
        run = command(module, *args)
        assert run.returncode == 1
        prog = "ssd-rt" if module == "run" else f"ssd-rt-{module}"
        line = one_error_line(run.stderr, prog)
        assert f"cannot read checkpoint {bad}: {expected}" in line, line


def test_bf16_is_refused_on_a_cpu_without_native_bf16(monkeypatch, slim_checkpoint):
    import torch

    from ssd_rt import machine
    from ssd_rt.backends.torch import TorchBackend
    from ssd_rt.errors import ConfigError

    assert machine.bf16_problem({"avx2", "avx512f"}) is not None
    assert "AVX512-BF16 or AMX" in machine.bf16_problem({"avx2"})
    assert machine.bf16_problem({"avx2", "avx512_bf16"}) is None
    assert machine.bf16_problem({"amx_bf16", "amx_tile"}) is None
    assert machine.bf16_problem(None) is None  # flags unknown (not Linux): not refused
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "fma"})  # an AVX2-only EPYC
    with pytest.raises(ConfigError, match="AVX512-BF16 or AMX"):
        TorchBackend.from_checkpoint(slim_checkpoint, torch.device("cpu"), precision="bf16")
    monkeypatch.setattr(machine, "cpu_flags", lambda: {"avx2", "avx512_bf16"})
    backend = TorchBackend.from_checkpoint(slim_checkpoint, torch.device("cpu"), precision="bf16")
    assert backend.dtype == torch.bfloat16


@pytest.mark.slow
def test_sigterm_ends_training_with_one_line_and_a_checkpoint_that_loads(tmp_path):
    from ssd_rt.checkpoint import load_checkpoint

    out = tmp_path / "run"
    args = [*TINY_TRAIN, "--data", "synthetic:8", "--out", out, "--steps", "100000",
            "--save-every", "1"]  # fmt: skip
    command_line = [sys.executable, "-m", "ssd_rt.cli.train", *map(str, args)]
    proc = subprocess.Popen(command_line, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "last.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == "ssd-rt-train: stopped (SIGTERM)"
    assert "Traceback" not in err
    assert load_checkpoint(out / "last.pt").extra["step"] >= 1
