"""The player's source (play, pause, step, seek, hold at the end) on real files written by
OpenCV, and a pipeline that takes and drops sinks while it runs."""

import json
import threading
import time

import cv2
import numpy as np
import pytest

from ssd_rt.backends.base import load_backend
from ssd_rt.data.synthetic import write_video
from ssd_rt.video.detector import Detector
from ssd_rt.video.pipeline import Pipeline
from ssd_rt.video.playback import Player
from ssd_rt.video.readers import DemoReader, FileReader
from ssd_rt.video.sinks import JsonLinesWriter, LatestResult

FRAMES = 48


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("play") / "clip.mp4", FRAMES, seed=5,
                       height=96, width=128)  # fmt: skip


@pytest.fixture(scope="module")
def decoded(video):
    """Every frame, decoded front to back (the truth a seek must match)."""
    capture, frames = cv2.VideoCapture(str(video)), []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    return frames


def no_frame_within(source, seconds: float) -> bool:
    try:
        source.get(seconds)
    except TimeoutError:
        return True
    return False


def test_paused_on_the_first_frame_then_seeks_are_exact(video, decoded):
    source = Player(FileReader(video)).start()
    try:
        first = source.get(5)
        assert first.index == 0 and np.array_equal(first.image_bgr, decoded[0])
        assert not source.playing and no_frame_within(source, 0.3)  # paused: nothing more
        assert source.seekable and source.frame_count == FRAMES
        for target in (31, 4, FRAMES - 1, 17):
            source.seek(target)
            frame = source.get(5)
            assert frame.index == target and np.array_equal(frame.image_bgr, decoded[target])
        epoch = frame.epoch
        source.step()
        stepped = source.get(5)
        assert stepped.index == 18 and stepped.epoch == epoch
        assert np.array_equal(stepped.image_bgr, decoded[18])
        source.refresh()  # the same frame again (a changed threshold while paused)
        again = source.get(5)
        assert again.index == 18 and again.image_bgr is stepped.image_bgr
    finally:
        source.stop()


def test_plays_to_the_end_holds_the_last_frame_and_play_starts_over(video):
    source = Player(FileReader(video)).start()
    try:
        assert source.get(5).index == 0
        source.realtime = False
        source.play()
        indices = []
        while True:
            try:
                indices.append(source.get(1).index)
            except TimeoutError:
                break
        assert indices == list(range(1, FRAMES))  # in order, each once
        assert source.at_end and not source.playing
        assert source.running  # a player keeps its file open at the end
        source.play()  # at the end: from the start again
        assert source.get(5).index == 0
    finally:
        source.stop()
    assert not source.running


def test_file_rate_paces_frames_at_the_files_fps(video):
    source = Player(FileReader(video)).start()
    try:
        source.get(5)
        assert source.fps == pytest.approx(30.0)
        source.play()
        started = time.perf_counter()
        for _ in range(15):
            source.get(5)
        paced_s = time.perf_counter() - started
        assert paced_s >= 14 / 30 * 0.9  # at the file's 30 FPS, not faster
    finally:
        source.stop()


def test_a_seek_drops_frames_decoded_before_it(video):
    source = Player(FileReader(video)).start()
    try:
        source.get(5)
        source.realtime = False
        source.play()
        time.sleep(0.3)  # nobody takes frames: 8 decoded ahead wait in the queue
        source.pause()
        source.seek(40)
        frames = []
        while not frames or frames[-1].index != 40:
            frames.append(source.get(5))
        stale = frames[:-1]
        assert all(f.epoch < frames[-1].epoch for f in stale)  # a player can tell them apart
        assert len(stale) <= 2  # the queue was emptied (without that: the 8 decoded ahead)
        assert no_frame_within(source, 0.3)  # paused at 40
    finally:
        source.stop()


def test_a_paused_live_source_delivers_nothing_and_refresh_shows_the_last_frame():
    source = Player(DemoReader(live=True, fps=60.0, height=64, width=96)).start()
    try:
        assert not source.seekable and source.frame_count is None
        assert no_frame_within(source, 0.3)  # starts paused
        source.play()
        shown = source.get(5)
        source.pause()
        time.sleep(0.1)
        while not no_frame_within(source, 0.2):
            pass
        source.refresh()
        again = source.get(1)
        assert again.index >= shown.index
        source.seek(3)
        source.step()  # neither means anything for a camera: ignored, nothing delivered
        assert no_frame_within(source, 0.3)
    finally:
        source.stop()


def test_a_pipeline_takes_and_drops_a_sink_while_running(tmp_path, slim_onnx, video):
    detector = Detector(load_backend(slim_onnx, "onnxruntime", "cpu", threads=1), conf=0.3)
    source = Player(FileReader(video)).start()
    window = LatestResult()
    pipeline = Pipeline(source.source, detector, [window], batch=2).start()
    try:
        source.realtime = False
        writer = JsonLinesWriter(tmp_path / "part.jsonl", detector.class_names)
        source.seek(10)
        deadline = time.monotonic() + 10
        while (r := window.take()) is None or r.frame.index != 10:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        pipeline.add_sink(writer)
        source.play()
        while source.position < 30:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        pipeline.remove_sink(writer)
        writer.close()
        writer.put(r)  # a late frame after close is ignored, never an error
    finally:
        pipeline.stop()
    rows = [json.loads(line) for line in (tmp_path / "part.jsonl").read_text().splitlines()]
    frames = [r["frame"] for r in rows]
    assert frames and frames == sorted(frames) and frames[0] >= 10
    assert pipeline.error is None
    assert not [t for t in threading.enumerate() if t.name.startswith("ssd-rt-")]


def test_frames_shown_again_while_paused_reach_the_window_but_not_the_files(tmp_path, slim_onnx,
                                                                            video):  # fmt: skip
    detector = Detector(load_backend(slim_onnx, "onnxruntime", "cpu", threads=1), conf=0.3)
    source = Player(FileReader(video)).start()
    window = LatestResult()
    pipeline = Pipeline(source.source, detector, [window], batch=1).start()
    deadline = time.monotonic() + 10

    def shown() -> tuple[int, bool]:
        while (r := window.take()) is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return r.frame.index, r.frame.repeat

    try:
        source.seek(5)
        while shown() != (5, False):
            pass
        writer = JsonLinesWriter(tmp_path / "paused.jsonl", detector.class_names)
        pipeline.add_sink(writer)
        source.refresh()  # new thresholds on the paused frame: shown again, as a repeat
        assert shown() == (5, True)
        source.step()
        assert shown() == (6, False)
        pipeline.remove_sink(writer)
        writer.close()
    finally:
        pipeline.stop()
    rows = [json.loads(line) for line in (tmp_path / "paused.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in rows] == [6]  # frame 5 is not written again by the refresh
