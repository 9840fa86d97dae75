"""Every way a run ends keeps the user's outputs: real `ssd-rt` processes, real signals, a real
full disk (a 300 KiB tmpfs in a private mount namespace), a real loopback stream server, and
the files read back by FFmpeg's decoder (PyAV).

- SIGTERM, SIGHUP and a double SIGINT finish the run: exit 128 + signal, summary printed, the
  recording and the JSON lines complete under their names, as many frames as lines.
- SIGKILL leaves the partial recording playable up to about its last second, and JSON lines
  that are all whole.
- A full disk is one line, exit 1, no file under the asked-for name, and what was written kept
  (and named) in the partial file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults import (
    codec_and_tags,
    run_on_full_disk,
    start,
    tmpfs_problem,
    video_times,
    wait_for_lines,
)

pytestmark = pytest.mark.slow

DEMO = ["--source", "demo", "--model", "demo", "--headless"]


def whole_rows(path: Path) -> list[dict]:
    data = path.read_bytes()
    assert data.endswith(b"\n"), "the JSON lines end in the middle of a line"
    return [json.loads(line) for line in data.splitlines()]


@pytest.mark.parametrize(
    "signals",
    [("SIGTERM",), ("SIGHUP",), ("SIGINT", "SIGINT"), ("SIGTERM", "SIGTERM")],
    ids=["term", "hup", "double-int", "double-term"],
)
def test_a_signal_finishes_the_recording_and_the_json_lines(tmp_path, signals):
    """The signals `timeout`, `docker stop`, systemd and a closed terminal send, and a second
    one 0.05 s after the first (which used to abort with exit 134): every one finalizes."""
    mp4, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    proc = start([*DEMO, "--record", str(mp4), "--json-out", str(jsonl)])
    wait_for_lines(proc, tmp_path, "out", 20)
    for i, name in enumerate(signals):
        if i:
            time.sleep(0.05)
        proc.send_signal(getattr(signal, name))
    out, err = proc.communicate(timeout=60)
    first = getattr(signal, signals[0])
    assert proc.returncode == 128 + first, err
    assert f"stopped ({signals[0]})" in err and "Traceback" not in err
    assert "frames in" in out and f"wrote {mp4}" in out and f"wrote {jsonl}" in out
    rows = whole_rows(jsonl)
    assert len(rows) >= 20
    assert [r["frame"] for r in rows] == sorted(r["frame"] for r in rows)
    assert all("captured_unix_s" in r for r in rows)  # a live source: the capture time
    times = video_times(mp4)
    assert len(times) == len(rows)
    assert codec_and_tags(mp4)[0] == "h264"
    assert not list(tmp_path.glob("*.partial.*")), "a partial file was left behind"


def test_sigkill_leaves_a_playable_partial_recording_and_whole_json_lines(tmp_path):
    mp4, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    proc = start([*DEMO, "--record", str(mp4), "--json-out", str(jsonl)])
    wait_for_lines(proc, tmp_path, "out", 90)  # three seconds of a 30 FPS camera
    proc.kill()
    proc.communicate(timeout=30)
    assert not mp4.exists() and not jsonl.exists()  # never a broken file under the asked name
    [partial_mp4] = tmp_path.glob("out.*.partial.mp4")
    [partial_jsonl] = tmp_path.glob("out.*.partial.jsonl")
    lines = partial_jsonl.read_bytes().splitlines(keepends=True)
    rows = [json.loads(line) for line in lines if line.endswith(b"\n")]
    assert len(rows) >= 90 and len(lines) - len(rows) <= 1  # at most the line being written
    decoded = len(video_times(partial_mp4, cut=True))
    # Lost: about a second (one fragment) and the recorder's queue (16 frames) at most.
    assert len(rows) - 30 - 16 - 15 <= decoded <= len(rows) + 16, (decoded, len(rows))


@pytest.mark.skipif(tmpfs_problem() is not None, reason=str(tmpfs_problem()))
def test_a_full_disk_is_one_line_and_keeps_what_was_written(tmp_path):
    """ssd-rt writes into a 300 KiB tmpfs mounted over `disk/` in a private mount namespace;
    the same shell then copies what is there out for the checks."""
    disk, kept = tmp_path / "disk", tmp_path / "kept"
    command = [sys.executable, "-m", "ssd_rt.cli.run", "--source", "demo", "--demo-mode",
               "file", "--max-frames", "3000", "--model", "demo", "--headless",
               "--record", disk / "out.mp4", "--json-out", disk / "out.jsonl"]  # fmt: skip
    rc, run = run_on_full_disk(command, disk, "300k", kept)
    assert rc == 1, run.stderr
    errors = [line for line in run.stderr.splitlines() if "error" in line]
    assert errors and all(line.startswith("ssd-rt: error: cannot write") for line in errors)
    assert "No space left on device" in run.stderr and "Traceback" not in run.stderr
    assert f"wrote {disk}/out.mp4" not in run.stdout
    assert not (kept / "out.mp4").exists()
    for partial in kept.glob("out.*.partial.*"):
        assert partial.name in run.stderr  # the error says where the frames are
        if partial.suffix == ".jsonl":
            data = partial.read_bytes()
            assert data == b"" or data.endswith(b"\n")  # cut back to whole lines
        else:
            assert len(video_times(partial, cut=True)) > 0  # playable up to the last fragment


def test_output_equal_to_input_is_refused_even_with_overwrite(tmp_path):
    from ssd_rt.data.synthetic import write_video

    clip = write_video(tmp_path / "clip.mp4", 5, height=64, width=64)
    before = clip.read_bytes()
    from tests.faults import run

    result = run(["--source", str(clip), "--model", "demo", "--headless",
                  "--record", str(clip), "--overwrite"])  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"ssd-rt: error: --record {clip} is the input itself; write to another file"
    ]
    assert clip.read_bytes() == before


def test_a_users_partial_named_file_is_never_touched(tmp_path):
    """`mine.partial.mp4` was the old temporary name: a user's file of that name survives."""
    from ssd_rt.data.synthetic import write_video
    from tests.faults import run

    clip = write_video(tmp_path / "clip.mp4", 8, height=64, width=64)
    mine = tmp_path / "mine.partial.mp4"
    mine.write_bytes(b"the user's own file")
    result = run(["--source", str(clip), "--model", "demo", "--headless",
                  "--record", str(tmp_path / "mine.mp4")])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert mine.read_bytes() == b"the user's own file"
    assert len(video_times(tmp_path / "mine.mp4")) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clip.mp4",
        "mine.mp4",
        "mine.partial.mp4",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--json-out", "{tmp}/missing/out.jsonl"], "folder {tmp}/missing does not exist"),
        (["--record", "{tmp}/missing/out.mp4"], "folder {tmp}/missing does not exist"),
        (["--reconnect-s", "nan"], "argument --reconnect-s: must be a finite number, got 'nan'"),
        (["--reconnect-s", "-5"], "--reconnect-s must be 0 or more, got -5.0"),
        (["--conf", "inf"], "argument --conf: must be a finite number, got 'inf'"),
    ],
    ids=["json-missing-folder", "record-missing-folder", "nan", "negative", "inf"],
)
def test_bad_outputs_and_numbers_are_refused_before_any_frame(tmp_path, args, message):
    from tests.faults import run

    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    started = time.monotonic()
    result = run(["--source", "demo", "--model", "demo", "--headless", *args])
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("ssd-rt: error: ")
    assert line.endswith(message.replace("{tmp}", str(tmp_path)))
    assert "frames" not in result.stdout  # refused before the run, not after a few frames
    assert time.monotonic() - started < 60
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_the_player_closes_on_a_signal_like_its_close_button(tmp_path, name):
    pytest.importorskip("PyQt6")
    from ssd_rt.data.synthetic import write_video

    clip = write_video(tmp_path / "clip.mp4", 300, height=120, width=160)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "ssd_rt.cli.gui", str(clip), "--model", "demo"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    time.sleep(8)  # the window is up and playing
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(getattr(signal, name))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + getattr(signal, name), err
    assert "Traceback" not in err
