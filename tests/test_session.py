"""The run session without Qt: a real model on ONNX Runtime, real video files written by OpenCV,
background work returned through a CallQueue the test pumps (as a window's event loop would).
Nothing here imports PyQt6 (the first test checks)."""

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ssd_rt.data.synthetic import write_video
from ssd_rt.errors import ConfigError
from ssd_rt.video import events
from ssd_rt.video.jobs import CallQueue
from ssd_rt.video.session import RunSession, SessionOptions
from ssd_rt.video.sinks import LatestResult
from tests.data_files import count_frames

pytest.importorskip("onnxruntime", reason="needs the onnx extra")

WAIT_S = 20.0


class Host:
    """What a window is to a session, minus the widgets: it pumps posted calls, keeps the events,
    and shows (accepts) the newest result."""

    def __init__(self, **options) -> None:
        self.calls = CallQueue()
        self.events: list = []
        self.display = LatestResult()
        self.session = RunSession(SessionOptions(device="cpu", **options), post=self.calls.post,
                                  listener=self.events.append, conf=0.3,
                                  displays=(self.display,))  # fmt: skip

    def pump_until(self, done, timeout: float = WAIT_S) -> None:
        def step() -> bool:
            result = self.display.take()
            if result is not None:
                self.session.accept(result)
            self.session.tick()
            return done()

        assert self.calls.run_until(step, timeout), f"timed out; events: {self.events}"

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def shown_index(self) -> int | None:
        shown = self.session.last_shown
        return None if shown is None else shown.frame.index


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("session") / "clip.mp4", 40, seed=3, height=120,
                       width=160)  # fmt: skip


@pytest.fixture
def host(slim_onnx):
    host = Host(player=True, renders_itself=True)
    host.session.load_model(slim_onnx, "onnxruntime")
    yield host
    host.session.close()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("ssd-rt-")]


def test_the_session_needs_no_qt():
    """(In a fresh interpreter: pytest-qt has imported PyQt6 into this one.)"""
    code = "import sys, ssd_rt.video.session; print(sorted(m for m in sys.modules if 'Qt' in m))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stderr


def test_load_open_play_pause_seek_and_step_report_events(host, video):
    session = host.session
    session.open(str(video))
    assert isinstance(host.events[0], events.Busy)  # the load started at once, in the background
    host.pump_until(lambda: session.shown >= 5)
    reported = sorted(type(e).__name__ for e in host.events if not isinstance(e, events.Busy))
    assert reported == ["ModelLoaded", "SourceOpened"]  # in either order: both in the background
    assert session.playing and session.seekable and session.player.frame_count == 40
    session.toggle_play()  # pauses on the frame on screen
    assert not session.playing
    session.seek(30)
    host.pump_until(lambda: host.shown_index() == 30)
    session.step()
    host.pump_until(lambda: host.shown_index() == 31)
    session.step_back()
    host.pump_until(lambda: host.shown_index() == 30)
    session.jump(-0.5)  # 15 frames at the file's 30 FPS
    host.pump_until(lambda: host.shown_index() == 15)
    assert not session.playing


def test_a_paused_frame_is_detected_again_with_new_thresholds(host, video):
    session = host.session
    session.open(str(video), play=False)
    host.pump_until(lambda: host.shown_index() == 0)
    before = session.last_shown
    session.configure(conf=0.9)
    host.pump_until(lambda: session.last_shown is not before)
    again = session.last_shown
    assert again.frame.index == 0 and again.frame.repeat
    assert (again.detections.scores >= 0.9).all()
    with pytest.raises(ConfigError):
        session.configure(conf=1.5)
    assert session.thresholds["conf"] == 0.9  # a rejected value is not kept for the next model


def test_a_new_model_restarts_the_run_on_the_same_frame(host, video, slim_onnx):
    session = host.session
    session.open(str(video), play=False)
    host.pump_until(lambda: host.shown_index() == 0)
    session.seek(12)
    host.pump_until(lambda: host.shown_index() == 12)
    old_detector, old_pipeline = session.detector, session.pipeline
    session.configure(conf=0.35, classes=[old_detector.class_names[0]])
    session.load_model(slim_onnx, "onnxruntime")
    host.pump_until(lambda: session.pipeline not in (None, old_pipeline)
                    and host.shown_index() == 12)  # fmt: skip
    assert session.detector is not old_detector
    # The thresholds carry over; the class filter was chosen for the old model's names.
    assert session.detector.settings.conf == 0.35 and session.detector.settings.labels is None
    assert old_pipeline.done and not session.playing


def test_failures_are_events_and_the_old_run_goes_on(host, video, tmp_path):
    session = host.session
    session.open(str(video))
    host.pump_until(lambda: session.shown >= 3)
    session.open(str(tmp_path / "missing.mp4"))
    host.pump_until(lambda: host.of(events.Failed))
    assert "video file not found" in host.of(events.Failed)[0].text
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00garbage")
    session.load_model(broken, "onnxruntime")
    host.pump_until(lambda: len(host.of(events.Failed)) == 2)
    assert host.of(events.Failed)[1].text.startswith("model not loaded: ")
    shown = session.shown
    host.pump_until(lambda: session.shown > shown + 3)  # the first model and file run on
    with pytest.raises(ConfigError, match=r"must end in \.mp4"):
        session.start_output("recording", tmp_path / "x.avi")


def test_outputs_attach_detach_and_finish_in_the_background(host, video, tmp_path):
    session = host.session
    with pytest.raises(ConfigError, match="no recording yet"):
        session.start_output("recording", tmp_path / "early.mp4")
    session.open(str(video), play=False)
    host.pump_until(lambda: host.shown_index() == 0)
    session.set_realtime(False)
    session.start_output("recording", tmp_path / "rec.mp4")
    session.start_output("detections", tmp_path / "dets.jsonl")
    session.toggle_play()
    host.pump_until(lambda: (host.shown_index() or 0) >= 25)
    session.stop_output("recording")
    session.stop_output("detections")
    host.pump_until(lambda: len(host.of(events.OutputClosed)) == 2)
    assert all(e.error is None for e in host.of(events.OutputClosed))
    assert count_frames(tmp_path / "rec.mp4") >= 20
    rows = [json.loads(line) for line in (tmp_path / "dets.jsonl").read_text().splitlines()]
    assert len(rows) >= 20 and [r["frame"] for r in rows] == sorted(r["frame"] for r in rows)
    assert session.output_name(".mp4", tmp_path) == tmp_path / "clip-detections.mp4"


def test_a_command_session_runs_a_file_to_its_end(slim_onnx, video, tmp_path):
    """What `ssd-rt` does: load and open in its own thread, start with file sinks, wait."""
    host = Host(batch=4, max_frames=None)
    session = host.session
    session.load_model_now(slim_onnx, "onnxruntime")
    session.open_now(str(video))
    sink = session.make_output("detections", tmp_path / "all.jsonl")
    session.start([sink])
    host.pump_until(lambda: host.of(events.RunEnded))
    assert host.of(events.RunEnded)[0].error is None
    assert session.pipeline.stats.frames == 40 and session.pipeline.batch == 4
    assert len((tmp_path / "all.jsonl").read_text().splitlines()) == 40
    session.close()
    assert session.detector is None
