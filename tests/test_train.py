"""`ssd-rt-train`: a real short run, refusals that keep what exists, NaN stop, resume after a real
SIGKILL reproducing the uninterrupted losses, and two-process DDP with gloo."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ssd_rt.checkpoint import load_checkpoint
from ssd_rt.cli.common import run_command
from ssd_rt.cli.train import main
from trainer.presets import PRESETS, TrainSettings, resolve
from trainer.train import lr_factor

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--preset",
    "shapes-demo",
    "--data",
    "synthetic:12",
    "--batch",
    "2",
    "--warmup",
    "0",
    "--workers",
    "0",
    "--eval-images",
    "4",
    "--log-every",
    "1",
    "--no-export",
]


def train(*args) -> int:
    return run_command("ssd-rt-train", main, [str(a) for a in args])


def losses(run: Path) -> dict[int, float]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if "loss" in r}


def test_short_run_writes_a_complete_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    args = [*TINY[:-1], "--steps", "4", "--eval-every", "2", "--out", out]
    assert train(*args) == 0
    for name in (
        "run.json",
        "last.pt",
        "best.pt",
        "metrics.jsonl",
        "metrics.csv",
        "loss.png",
        "curves.png",
        "model.onnx",
    ):
        assert (out / name).is_file(), name
    settings = TrainSettings.from_dict(json.loads((out / "run.json").read_text()))
    assert settings.preset == "shapes-demo" and settings.batch == 2 and settings.width == 0.125
    assert settings.steps() == 4 and settings.warmup() == 0
    assert sorted(losses(out)) == [1, 2, 3, 4]
    last = load_checkpoint(out / "last.pt")
    assert last.class_names == ("ellipse", "rectangle", "triangle", "star")
    assert last.extra["step"] == 4 and "optimizer" in last.extra and "rng" in last.extra
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "mAP_voc07" in r] == [2, 4]
    assert "best VOC07 mAP@0.5" in capsys.readouterr().out


def test_presets_scale_lr_and_steps_with_the_batch():
    s = resolve("voc-scratch", {"data": "voc:x", "batch": 32})
    assert s.lr() == pytest.approx(0.05 * 32 / 128) and s.steps() == 120_000
    s = resolve("voc-scratch", {"data": "voc:x", "batch": 16, "accumulate": 4})
    assert s.lr() == pytest.approx(0.05 * 64 / 128) and s.steps() == 60_000
    assert s.lr(world_size=2) == pytest.approx(0.05) and s.steps(world_size=2) == 30_000
    assert set(PRESETS) == {"voc-scratch", "voc-pretrained", "shapes-demo", "finetune"}
    # warm-up from 1/W, then x0.1 at 2/3 and 5/6 of the run.
    assert lr_factor(0, 120, 10, (2 / 3, 5 / 6)) == pytest.approx(0.1)
    assert lr_factor(50, 120, 10, (2 / 3, 5 / 6)) == 1.0
    assert lr_factor(80, 120, 10, (2 / 3, 5 / 6)) == pytest.approx(0.1)
    assert lr_factor(100, 120, 10, (2 / 3, 5 / 6)) == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "fast"], "unknown preset 'fast'"),
        (["--preset", "voc-scratch"], "preset voc-scratch needs --data"),
        (["--preset", "shapes-demo", "--data", "imagenet:x"], "unknown data spec"),
        (["--preset", "shapes-demo", "--batch", "0"], "batch must be a positive integer"),
        (["--preset", "voc-pretrained", "--data", "synthetic"], "give --backbone-weights"),
        (["--preset", "shapes-demo", "--resume", "--overwrite"], "exclude each other"),
        (["--preset", "shapes-demo", "--resume"], "nothing to resume"),
        (["--preset", "shapes-demo", "--data", "voc:/no/such"], "VOC root not found"),
    ],
)
def test_bad_input_one_line(tmp_path, capsys, args, message):
    assert train(*args, "--out", tmp_path / "run") == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()


def test_check_data_prints_both_splits_and_trains_nothing(tmp_path, capsys):
    assert train("--preset", "shapes-demo", "--data", "synthetic:6", "--check-data") == 0
    out = capsys.readouterr().out
    assert out.count("images: 6") == 2 and "split train" in out and "split test" in out
    assert train("--preset", "shapes-demo") == 1
    assert "give the run folder: --out" in capsys.readouterr().err


def test_empty_data_set_and_unwritable_out(tmp_path, capsys):
    voc = tmp_path / "voc"
    (voc / "ImageSets" / "Main").mkdir(parents=True)
    (voc / "ImageSets" / "Main" / "trainval.txt").write_text("")
    assert train(*TINY, "--data", f"voc:{voc}", "--out", tmp_path / "run") == 1
    assert "the training split has no images" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert train(*TINY, "--out", blocker / "run") == 1
    assert "is not a writable folder" in capsys.readouterr().err


def test_existing_run_is_kept_unless_resume_or_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(*TINY, "--steps", "1", "--out", out) == 0
    before = (out / "last.pt").read_bytes()
    assert train(*TINY, "--steps", "1", "--out", out) == 1
    assert "already holds a run; pass --resume" in capsys.readouterr().err
    assert (out / "last.pt").read_bytes() == before
    assert train("--resume", "--lr", "0.1", "--out", out) == 1
    assert "a resumed run keeps its settings (run.json); drop --lr" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert train(*TINY, "--steps", "1", "--out", other) == 1
    assert "not empty and holds no ssd-rt run" in capsys.readouterr().err
    assert train(*TINY, "--steps", "2", "--out", out, "--overwrite") == 0
    assert load_checkpoint(out / "last.pt").extra["step"] == 2


def test_resume_refuses_other_classes(tmp_path, capsys):
    from ssd_rt.data.synthetic import SyntheticScenes, write_voc

    voc = tmp_path / "voc"
    write_voc(SyntheticScenes(8, 0, "train", height=120, width=160), voc)
    (voc / "ImageSets/Main/trainval.txt").write_text((voc / "ImageSets/Main/train.txt").read_text())
    (voc / "ImageSets/Main/test.txt").write_text((voc / "ImageSets/Main/train.txt").read_text())
    out = tmp_path / "run"
    assert train(*TINY, "--steps", "1", "--data", f"voc:{voc}", "--out", out) == 0
    for xml in (voc / "Annotations").glob("*.xml"):
        xml.write_text(xml.read_text().replace("<name>star</name>", "<name>comet</name>"))
    assert train("--resume", "--out", out) == 1
    assert "do not match the run's checkpoint" in capsys.readouterr().err


def test_nan_losses_stop_the_run_with_a_message(tmp_path, capsys):
    args = [*TINY, "--optimizer", "sgd", "--lr", "10", "--grad-clip", "0", "--steps", "30"]
    assert train(*args, "--out", tmp_path / "run") == 1
    err = capsys.readouterr().err
    assert "NaN or inf for 5 steps in a row" in err and "lower the learning rate" in err


def _command(out: Path, steps: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ssd_rt.cli.train",
        *TINY,
        "--steps",
        str(steps),
        "--save-every",
        "1",
        "--eval-every",
        "100",
        "--deterministic",
        "--out",
        str(out),
    ]


@pytest.mark.slow
def test_sigkill_then_resume_reproduces_the_uninterrupted_losses(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    steps = 8
    reference = tmp_path / "reference"
    subprocess.run(_command(reference, steps), check=True, env=env, capture_output=True, cwd=ROOT)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        _command(killed, steps),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (killed / "metrics.jsonl").exists() and len(losses(killed)) >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(losses(killed)) < steps  # really killed mid-run
    load_checkpoint(killed / "last.pt")  # not corrupted
    subprocess.run(
        [sys.executable, "-m", "ssd_rt.cli.train", "--resume", "--no-export", "--out", str(killed)],
        check=True,
        env=env,
        capture_output=True,
        cwd=ROOT,
    )
    assert losses(killed) == losses(reference)  # bit for bit, every step
    a, b = load_checkpoint(killed / "last.pt"), load_checkpoint(reference / "last.pt")
    for key, value in a.state_dict.items():
        assert torch.equal(value, b.state_dict[key]), key


def _ddp(args: list, processes: int) -> subprocess.CompletedProcess:
    launcher = (["-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
                 str(processes)] if processes > 1 else [])  # fmt: skip
    return subprocess.run([sys.executable, *launcher, "-m", "ssd_rt.cli.train", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip


@pytest.mark.slow
def test_two_processes_at_batch_2_train_as_one_at_batch_4(tmp_path):
    """DDP correctness, not only that it runs: in deterministic mode, 2 processes at batch 2
    give the losses and weights of 1 process at batch 4 (the loss normalized by the whole
    batch's positives, normalize_over_ranks), and the sharded evaluation, 5 images over 2
    ranks (uneven), counts every image exactly once and scores as one process does. The
    network has no BatchNorm (norm "none", from an --init checkpoint): on CPU, PyTorch has no
    SyncBatchNorm, so BN statistics are per rank there (on CUDA they are synchronized)."""
    from ssd_rt.checkpoint import save_checkpoint
    from ssd_rt.config import SSDConfig
    from ssd_rt.data.synthetic import SyntheticScenes
    from ssd_rt.model import SSD300

    torch.manual_seed(0)
    config = SSDConfig(num_classes=5, width=0.125, norm="none")
    save_checkpoint(tmp_path / "init.pt", SSD300(config), config, SyntheticScenes.class_names)
    common = [*TINY, "--deterministic", "--steps", "3", "--eval-every", "3", "--eval-images",
              "5", "--data", "synthetic:8", "--init", tmp_path / "init.pt",
              # SGD: an update linear in the gradient. Adam divides by sqrt(v), so a gradient
              # of 1e-9 summed in another order can flip a weight's step by a whole lr.
              "--optimizer", "sgd"]  # fmt: skip
    two = _ddp([*common, "--batch", "2", "--out", tmp_path / "two"], processes=2)
    assert two.returncode == 0, two.stderr[-2000:]
    one = _ddp([*common, "--batch", "4", "--out", tmp_path / "one"], processes=1)
    assert one.returncode == 0, one.stderr[-2000:]
    assert "x 2 processes" in two.stderr and "steps at batch 4" in two.stderr
    rows = {}
    for name in ("one", "two"):
        lines = (tmp_path / name / "metrics.jsonl").read_text().splitlines()
        rows[name] = [json.loads(line) for line in lines]
    for a, b in zip(*(r for r in rows.values()), strict=True):
        assert a["step"] == b["step"]
        for key in ("loss", "loc", "conf"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-4), (a["step"], key)
        if "mAP_voc07" in a:
            assert b["eval_images"] == b["eval_unique_images"] == 5  # each image once
            assert b["mAP_voc07"] == pytest.approx(a["mAP_voc07"], abs=1e-3)
    a, b = (load_checkpoint(tmp_path / n / "last.pt").state_dict for n in ("one", "two"))
    for key, value in a.items():
        assert torch.allclose(value, b[key], atol=1e-5, rtol=1e-4), key
    assert load_checkpoint(tmp_path / "two" / "last.pt").extra["step"] == 3


def _descendants(pid: int) -> list[int]:
    """Every process below pid, from Linux's /proc/PID/task/TID/children lists."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


def _wait_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)  # killed orphans are reaped by init; /proc/PID goes with them


@pytest.mark.slow
def test_ddp_resume_after_sigkill_reproduces_the_uninterrupted_run(tmp_path):
    """Resume under DDP: two processes killed mid-run (the whole process group, SIGKILL) and
    resumed with two processes give the uninterrupted two-process run's losses at every step
    and its weights: the sampler's shards, the step counter and the optimizer state all come
    back from last.pt, which rank 0 alone writes."""
    steps = 8
    # 40 images: 10 steps an epoch, so the kill (steps 3-7) lands mid-epoch: a position to restore
    args = [*TINY, "--data", "synthetic:40", "--save-every", "1", "--eval-every", "100",
            "--deterministic"]  # fmt: skip
    reference = _ddp([*args, "--steps", steps, "--out", tmp_path / "reference"], processes=2)
    assert reference.returncode == 0, reference.stderr[-2000:]
    killed = tmp_path / "killed"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc-per-node", "2", "-m", "ssd_rt.cli.train"]  # fmt: skip
    proc = subprocess.Popen([*launcher, *map(str, args), "--steps", str(steps), "--out",
                             str(killed)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (killed / "metrics.jsonl").exists() and len(losses(killed)) >= 3:
            break
        time.sleep(0.02)
    # torchrun starts each worker in a session of its own: kill them by pid, then the launcher
    workers = _descendants(proc.pid)
    for pid in [*workers, proc.pid]:
        os.kill(pid, signal.SIGKILL)
    proc.wait()
    _wait_gone(workers)
    assert 3 <= len(losses(killed)) < steps  # really killed mid-run
    resumed = _ddp(["--resume", "--no-export", "--out", killed], processes=2)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stderr
    assert losses(killed) == pytest.approx(losses(tmp_path / "reference"), rel=1e-6)
    a, b = (load_checkpoint(tmp_path / n / "last.pt") for n in ("killed", "reference"))
    assert a.extra["step"] == b.extra["step"] == steps
    for key, value in a.state_dict.items():
        assert torch.allclose(value, b.state_dict[key], atol=1e-6, rtol=1e-5), key


@pytest.mark.slow
def test_best_pt_is_the_step_with_the_highest_map_and_the_export_comes_from_it(tmp_path):
    """best.pt is the first evaluation with the highest mAP (a tie keeps the earlier step), and
    model.onnx holds best.pt's weights, not last.pt's."""
    pytest.importorskip("onnxruntime", reason="needs the onnx extra")
    import numpy as np
    import onnxruntime as ort

    from ssd_rt.checkpoint import load_model

    out = tmp_path / "run"
    args = [a for a in TINY if a != "--no-export"]
    assert train(*args, "--steps", "6", "--eval-every", "1", "--out", out) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [(r["step"], r["mAP_voc07"]) for r in rows if "mAP_voc07" in r]
    assert [step for step, _ in evals] == [1, 2, 3, 4, 5, 6]
    best_map = max(m for _, m in evals)
    best_step = next(step for step, m in evals if m == best_map)  # the first of a tie
    best = load_checkpoint(out / "best.pt")
    assert best.extra["step"] == best_step and best.extra["best_map"] == pytest.approx(best_map)
    x = torch.rand(1, 3, 300, 300)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    onnx_loc, _ = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    for name, should_match in (("best.pt", True), ("last.pt", best_step == 6)):
        model, _ = load_model(out / name)
        with torch.inference_mode():
            loc, _ = model(x)
        assert np.allclose(onnx_loc, loc.numpy(), atol=1e-4) == should_match, name
