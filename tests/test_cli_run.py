"""`ssd-rt`: a headless run end to end, and every bad input as one line with a non-zero exit."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ssd_rt.cli.common import run_command
from ssd_rt.cli.run import main
from ssd_rt.data.synthetic import write_video
from tests.data_files import count_frames, free_port


def ssd_rt(*args) -> int:
    return run_command("ssd-rt", main, [str(a) for a in args])


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", 12, height=120, width=160)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    return errors[0]


def test_headless_run_on_a_file_writes_json_and_recording(tmp_path, slim_onnx, clip, capsys):
    out_json, out_mp4 = tmp_path / "d.jsonl", tmp_path / "d.mp4"
    code = ssd_rt("--source", clip, "--model", slim_onnx, "--json-out", out_json,
                  "--record", out_mp4, "--conf", "0.3")  # fmt: skip
    assert code == 0
    out = capsys.readouterr()
    assert "12 frames" in out.out and "mean ms per frame" in out.out
    assert "no window (QT_QPA_PLATFORM=offscreen shows no window); running headless" in out.err
    rows = [json.loads(x) for x in out_json.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(12))
    assert out_mp4.stat().st_size > 0


def test_existing_outputs_are_never_overwritten(tmp_path, slim_onnx, clip, capsys):
    mine = tmp_path / "mine.jsonl"
    mine.write_text("my data\n")
    assert ssd_rt("--source", clip, "--model", slim_onnx, "--json-out", mine) == 1
    assert "already exists; pass --overwrite" in one_error_line(capsys)
    assert mine.read_text() == "my data\n"
    assert ssd_rt("--source", clip, "--model", slim_onnx, "--json-out", mine, "--overwrite") == 0
    assert mine.read_text().count("\n") == 12


@pytest.mark.parametrize(
    "args, message",
    [
        (["--source", "{tmp}/missing.mp4"], "video file not found"),
        (["--source", "{tmp}/notes.txt"], "is not a video that can be decoded"),
        (["--source", "9"], "camera 9 cannot be opened"),
        (["--source", "http://127.0.0.1:{port}/live.ts"], "cannot open stream"),
        (["--source", "ftp://x/y.mp4"], "unsupported URL scheme"),
        (["--source", "{clip}", "--record", "{tmp}/notes.txt/out.mp4"], "not a writable folder"),
        (["--source", "{clip}", "--record", "{tmp}/no/such/out.mp4"], "no/such does not exist"),
        (["--source", "{clip}", "--record", "{tmp}/out.avi"], "must end in .mp4"),
        (["--source", "{clip}", "--record", "{tmp}/dir.mp4"], "is a folder; give a file name"),
        (["--source", "{clip}", "--json-out", "{tmp}/out.txt"], "must end in .jsonl or .json"),
        (["--source", "{clip}", "--reconnect-s", "-1"], "--reconnect-s must be 0 or more"),
        (["--source", "{clip}", "--classes", " , "], "--classes is empty"),
        (["--source", "{clip}", "--demo-mode", "fast"], "invalid choice: 'fast'"),
        (["--source", "{clip}", "--conf", "1.5"], "score threshold must be in [0, 1)"),
        (["--source", "{clip}", "--iou", "0"], "IoU threshold must be in (0, 1]"),
        (["--source", "{clip}", "--conf", "high"], "must be a number"),
        (["--source", "{clip}", "--max-frames", "0"], "must be a positive integer"),
        (["--source", "{clip}", "--classes", "circle,zebra"], "has no class 'zebra'"),
        (["--source", "{clip}", "--model", "{tmp}/none.onnx"], "model not found"),
        (["--source", "{clip}", "--backend", "tensorrt"], "--backend tensorrt cannot run"),
        (["--model", "{onnx}"], "the following arguments are required: --source"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path, slim_onnx, clip, capsys, args, message):
    (tmp_path / "notes.txt").write_text("not a video")
    (tmp_path / "dir.mp4").mkdir()
    values = {"tmp": tmp_path, "clip": clip, "port": free_port(), "onnx": slim_onnx}
    argv = [a.format(**values) for a in args]
    if "--model" not in argv:
        argv += ["--model", str(slim_onnx)]
    assert ssd_rt(*argv) == 1
    assert message in one_error_line(capsys)


def test_the_command_prints_no_traceback(tmp_path, slim_onnx):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ssd_rt.cli.run",
            "--source",
            str(tmp_path / "nope.mp4"),
            "--model",
            str(slim_onnx),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        f"ssd-rt: error: video file not found: {tmp_path / 'nope.mp4'}"
    )
    assert "Traceback" not in run.stderr


def test_ctrl_c_ends_a_live_run_cleanly(tmp_path, slim_onnx):
    """SIGINT to a real `ssd-rt` process: summary printed, JSON complete, recording playable."""
    out_json, out_mp4 = tmp_path / "live.jsonl", tmp_path / "live.mp4"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ssd_rt.cli.run",
            "--source",
            "demo",
            "--model",
            str(slim_onnx),
            "--json-out",
            str(out_json),
            "--record",
            str(out_mp4),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sum(
        p.read_text().count("\n") for p in tmp_path.glob("live.*.partial.jsonl")
    ) < 10:  # written under an exclusive partial name until it is whole
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err  # 128 + SIGINT, as shells report it
    assert "stopped (SIGINT)" in err and "Traceback" not in err
    assert "frames in" in out
    rows = [json.loads(line) for line in out_json.read_text().splitlines()]  # every line whole
    assert len(rows) >= 10
    assert count_frames(out_mp4) == len(rows)


def test_ssd_rt_gui_without_pyqt6_says_how_to_install_it(tmp_path):
    """A PyQt6 that cannot be imported (shadowed here) is one line naming the gui extra."""
    fake = tmp_path / "PyQt6"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named PyQt6.QtCore')\n")
    run = subprocess.run(
        [sys.executable, "-m", "ssd_rt.cli.gui"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        timeout=60,
    )
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1 and len(lines) == 1, run.stderr
    assert lines[0].startswith("ssd-rt-gui: error: the GUI needs PyQt6")
    assert "pip install 'ssd-rt[gui]'" in lines[0]
