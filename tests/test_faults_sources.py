"""What real sources do to the outputs: credentials of a reconnecting stream never printed or
written, a server that answers but sends no frame given up on time, a file whose container
lies about its rate recorded at its true timing, an image folder's files named in each line.
Real `ssd-rt` processes, a real ffmpeg stream server and Python's HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import threading
import time

import cv2
import numpy as np
import pytest

from ssd_rt.data.synthetic import write_video
from tests.data_files import free_port
from tests.faults import (
    codec_and_tags,
    partial_lines,
    run,
    start,
    video_duration_s,
    video_times,
    wait_for_lines,
    write_vfr_video,
)
from tests.test_stream import serve

pytestmark = pytest.mark.slow
needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None,
    reason="needs ffmpeg (Debian package; `make test` installs it as root)",
)
SECRETS = ("S3cretPW", "T0kenXYZ")


@needs_ffmpeg
def test_credentials_are_masked_in_every_output_of_a_reconnecting_run(tmp_path):
    """A stream URL with a password and a secret query token: the server is killed, restarted
    (the run reconnects) and killed for good (the run gives up). Neither secret is in any line
    the process printed, in the JSON lines or in the recording's metadata."""
    video = write_video(tmp_path / "loop.mp4", 60, height=120, width=160)
    port = free_port()
    served = f"http://127.0.0.1:{port}/live.ts"
    url = f"http://alice:S3cretPW@127.0.0.1:{port}/live.ts?token=T0kenXYZ"
    server = serve(video, served)
    time.sleep(0.5)
    mp4, jsonl = tmp_path / "cam.mp4", tmp_path / "cam.jsonl"
    proc = start(["--source", url, "--model", "demo", "--headless", "--reconnect-s", "4",
                  "--record", str(mp4), "--json-out", str(jsonl)])  # fmt: skip
    try:
        wait_for_lines(proc, tmp_path, "cam", 10)
        server.kill()
        server.wait()
        time.sleep(1.0)
        before = partial_lines(tmp_path, "cam")
        server = serve(video, served)  # back: the run reconnects
        wait_for_lines(proc, tmp_path, "cam", before + 10)
        server.kill()  # gone for good: the run gives up after 4 s without a frame
        out, err = proc.communicate(timeout=60)
    finally:
        server.kill()
        proc.kill()
    assert proc.returncode == 1, err
    assert "dropped; reconnecting" in err and "is back after" in err
    assert "sent no frame for 4 s; giving up" in err.splitlines()[-1]
    assert "http://alice:***@127.0.0.1" in err and "token=***" in err
    written = [out, err, jsonl.read_text(), repr(codec_and_tags(mp4)[1])]
    for text in written:
        for secret in SECRETS:
            assert secret not in text
    assert "alice:***@" in codec_and_tags(mp4)[1]["title"]


def test_the_player_error_bar_masks_the_password(qtbot):
    pytest.importorskip("PyQt6")
    from PyQt6.QtCore import QSettings

    from gui.window import MainWindow

    window = MainWindow(settings=QSettings("ssd-rt-tests", "faults"), model=None)
    qtbot.addWidget(window)
    window.session.open(f"rtsp://alice:S3cretPW@127.0.0.1:{free_port()}/stream")
    qtbot.waitUntil(lambda: window.message.text() != "", timeout=30_000)
    assert "rtsp://alice:***@127.0.0.1" in window.message.text()
    assert "S3cretPW" not in window.message.text() + window.windowTitle()
    window.close()


def test_a_server_that_answers_but_sends_no_frame_is_given_up_on_time(tmp_path):
    """Python's HTTP server sends an MP4 whose index is at its end and cannot serve ranges:
    every reopen succeeds, no frame ever comes. Reopening is not coming back."""
    # Big enough that its index (at the end) is beyond what FFmpeg reads to probe the stream.
    write_video(tmp_path / "clip.mp4", 300, height=240, width=320)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        url = f"http://127.0.0.1:{server.server_address[1]}/clip.mp4"
        result = run(["--source", url, "--model", "demo", "--headless", "--reconnect-s", "3"],
                     timeout=120)  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ssd-rt: error: stream ") and "sent no frame for 3 s" in last
    assert result.stderr.count("attempt 1)") == 1  # one outage, not a fresh one per reopen
    assert "is back" not in result.stderr
    assert elapsed < 60


def test_a_mislabelled_rate_is_recorded_at_the_true_timing(tmp_path):
    """The container announces 50 FPS, the frames are 40 ms apart (25 FPS): the recording
    lasts as long as the source (within one frame) and the JSON lines carry the true times;
    no warning blames the file."""
    source = tmp_path / "vfr.mkv"
    times = write_vfr_video(source, 50, step_s=0.04, nominal_fps=50)
    mp4, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    result = run(["--source", str(source), "--model", "demo", "--headless",
                  "--record", str(mp4), "--json-out", str(jsonl)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["pts_s"] for r in rows] == pytest.approx(times, abs=1e-3)
    recorded = video_times(mp4)
    assert [t - recorded[0] for t in recorded] == pytest.approx(times, abs=1e-3)
    source_duration = times[-1] + 0.04
    assert abs(video_duration_s(mp4) - source_duration) <= 0.04
    assert codec_and_tags(mp4)[0] == "h264"


def test_stopping_early_on_a_file_gives_no_truncation_warning(tmp_path):
    source = tmp_path / "vfr.mkv"
    write_vfr_video(source, 50, step_s=0.04, nominal_fps=50)
    result = run(["--source", str(source), "--model", "demo", "--headless", "--max-frames", "5"])
    assert result.returncode == 0, result.stderr
    assert "truncated" not in result.stderr and "warning" not in result.stderr


def test_an_image_folder_names_each_file_and_letterboxes_a_size_change(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    sizes = {"a.jpg": (48, 64), "b.jpg": (48, 64), "c.jpg": (100, 100), "e.jpg": (48, 64)}
    for name, (h, w) in sizes.items():
        cv2.imwrite(str(folder / name), rng.integers(0, 255, (h, w, 3), np.uint8))
    (folder / "d.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    mp4, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    result = run(["--source", str(folder), "--model", "demo", "--headless",
                  "--record", str(mp4), "--json-out", str(jsonl)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["file"] for r in rows] == ["a.jpg", "b.jpg", "c.jpg", "e.jpg"]  # d.jpg skipped
    assert result.stderr.count("letterboxing") == 1 and "c.jpg" not in result.stdout
    assert "skipping" in result.stderr and "d.jpg" in result.stderr
    assert len(video_times(mp4)) == 4
    import av

    with av.open(str(mp4)) as container:
        sizes_out = {(f.width, f.height) for f in container.decode(video=0)}
    assert sizes_out == {(64, 48)}


def test_the_recording_of_a_live_source_plays_in_real_time(tmp_path):
    """A camera paced at 30 FPS for about 3 s: the recording's span is the capture span,
    whatever the frame rate inference reached."""
    mp4, jsonl = tmp_path / "live.mp4", tmp_path / "live.jsonl"
    proc = start(["--source", "demo", "--model", "demo", "--headless",
                  "--record", str(mp4), "--json-out", str(jsonl)])  # fmt: skip
    wait_for_lines(proc, tmp_path, "live", 90)
    proc.send_signal(subprocess.signal.SIGTERM)
    proc.communicate(timeout=60)
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    captured = rows[-1]["captured_unix_s"] - rows[0]["captured_unix_s"]
    recorded = video_times(mp4)
    assert len(recorded) == len(rows)
    assert recorded[-1] - recorded[0] == pytest.approx(captured, abs=0.01)
