"""The video pipeline with real files written by OpenCV, a real ONNX Runtime model and threads."""

import json
import os
import threading
import time

import cv2
import pytest

from ssd_rt.backends.base import load_backend
from ssd_rt.data.synthetic import MovingScenes, write_video
from ssd_rt.model_search import default_model, newest_model
from ssd_rt.video.detector import Detector
from ssd_rt.video.pipeline import Pipeline
from ssd_rt.video.readers import DemoReader, FileReader, SourceError
from ssd_rt.video.recorder import VideoRecorder
from ssd_rt.video.sinks import JsonLinesWriter
from ssd_rt.video.sources import Source, make_reader
from tests.data_files import count_frames
from tests.faults import video_duration_s, video_times


def ssd_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("ssd-rt-")]


@pytest.fixture(scope="module")
def detector(slim_onnx):
    backend = load_backend(slim_onnx, "onnxruntime", "cpu", threads=1)
    return Detector(backend, conf=0.3)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("video") / "scenes.mp4", 37, seed=3,
                       height=120, width=160)  # fmt: skip


@pytest.mark.parametrize("batch", [1, 4])
def test_every_frame_of_a_file_once_in_order_and_recorded(tmp_path, detector, video, batch):
    frames_in_file = count_frames(video)
    assert frames_in_file == 37
    names = detector.class_names
    json_path, mp4 = tmp_path / "out.jsonl", tmp_path / "out.mp4"
    sinks = [JsonLinesWriter(json_path, names), VideoRecorder(mp4, 30.0, names)]
    source = Source(FileReader(video)).start()
    pipeline = Pipeline(source, detector, sinks, batch=batch).start()
    assert pipeline.wait(60)
    pipeline.stop()
    assert pipeline.error is None
    rows = [json.loads(line) for line in json_path.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(frames_in_file))
    assert any(r["detections"] for r in rows)
    first = next(r for r in rows if r["detections"])["detections"][0]
    assert first["label"] in names and 0.3 < first["score"] <= 1 and len(first["box_xyxy"]) == 4
    assert count_frames(mp4) == frames_in_file
    assert not list(tmp_path.glob("*.partial.*"))
    # Rate and duration, not only the count: the recording's frames sit at the source's times.
    times = [r["pts_s"] for r in rows]
    assert times == pytest.approx([i / 30.0 for i in range(frames_in_file)], abs=1e-3)
    assert video_times(mp4) == pytest.approx(times, abs=1e-3)
    assert video_duration_s(mp4) == pytest.approx(frames_in_file / 30.0, abs=1 / 30.0)
    assert pipeline.stats.frames == frames_in_file
    assert pipeline.stats.snapshot().stage_ms["infer"] > 0
    assert ssd_threads() == []


def test_live_source_keeps_the_newest_frame_and_drops_stale_ones(tmp_path, detector):
    # 250 frames/s from the source, inference is slower: most frames must be dropped unread.
    reader = DemoReader(live=True, fps=250.0, height=120, width=160, count=None)
    json_path = tmp_path / "live.jsonl"
    source = Source(reader).start()
    pipeline = Pipeline(source, detector, [JsonLinesWriter(json_path, detector.class_names)],
                        batch=4, max_frames=25).start()  # fmt: skip
    assert pipeline.batch == 1  # live sources never batch: the newest frame, now
    assert pipeline.wait(60)
    pipeline.stop()
    indices = [json.loads(line)["frame"] for line in json_path.read_text().splitlines()]
    assert len(indices) == 25
    assert indices == sorted(set(indices))  # in order, none twice
    assert indices[-1] - indices[0] > 25  # frames in between were skipped
    assert pipeline.stats.dropped > 0 and pipeline.stats.dropped == source.dropped
    # Each frame waited at most about one inference: no queue of stale frames builds up.
    snap = pipeline.stats.snapshot()
    per_frame = sum(v for k, v in snap.stage_ms.items() if k != "capture wait")
    assert snap.latency_ms < 3 * per_frame + 50


def test_stop_joins_every_thread_and_finalizes_the_recording(tmp_path, detector):
    mp4, json_path = tmp_path / "rec.mp4", tmp_path / "rec.jsonl"
    source = Source(DemoReader(live=True, fps=60.0, height=120, width=160)).start()
    sinks = [VideoRecorder(mp4, 30.0, detector.class_names),
             JsonLinesWriter(json_path, detector.class_names)]  # fmt: skip
    pipeline = Pipeline(source, detector, sinks).start()
    deadline = time.perf_counter() + 30
    while pipeline.stats.frames < 5 and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert ssd_threads()  # capture, inference and the two sinks are running
    t0 = time.perf_counter()
    pipeline.stop()
    assert time.perf_counter() - t0 < 1.5
    assert ssd_threads() == []
    written = len(json_path.read_text().splitlines())
    assert written == pipeline.stats.frames >= 5
    assert count_frames(mp4) == written  # playable, every processed frame in it


def test_max_frames_on_a_file(detector, video, tmp_path):
    json_path = tmp_path / "some.jsonl"
    source = Source(FileReader(video)).start()
    pipeline = Pipeline(source, detector, [JsonLinesWriter(json_path, detector.class_names)],
                        batch=4, max_frames=10).start()  # fmt: skip
    assert pipeline.wait(60)
    pipeline.stop()
    assert [json.loads(x)["frame"] for x in json_path.read_text().splitlines()] == list(range(10))
    assert ssd_threads() == []


def test_truncated_video_decodes_what_it_can_and_says_so(tmp_path, detector):
    whole = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (160, 120))
    for frame, _, _ in MovingScenes(1, 120, 160).frames(60):
        writer.write(frame)
    writer.release()
    cut = tmp_path / "cut.avi"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # the second half and the index are gone
    decodable = count_frames(cut)
    assert 0 < decodable < 60
    source = Source(FileReader(cut)).start()
    pipeline = Pipeline(source, detector, []).start()
    assert pipeline.wait(60)
    pipeline.stop()
    assert pipeline.error is None
    assert pipeline.stats.frames == decodable
    assert "could not be decoded" in source.end_report and "60" in source.end_report


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.mp4", "video file not found"),
        (
            lambda d: (d / "notes.mp4").write_text("not a video") and d / "notes.mp4",
            "is not a video that can be decoded",
        ),
        (lambda d: d, "no images"),  # a folder without images
    ],
)
def test_sources_that_cannot_open_say_why(tmp_path, make, message):
    with pytest.raises(SourceError, match=message):
        Source(make_reader(str(make(tmp_path)))).start()
    assert ssd_threads() == []


def test_source_text_picks_the_reader(tmp_path):
    assert type(make_reader("0")).__name__ == "CameraReader"
    assert type(make_reader("rtsp://127.0.0.1/x")).__name__ == "StreamReader"
    assert type(make_reader("demo")).__name__ == "DemoReader"
    assert type(make_reader(str(tmp_path))).__name__ == "ImageFolderReader"
    assert type(make_reader(str(tmp_path / "*.jpg"))).__name__ == "ImageFolderReader"
    assert type(make_reader("clip.mp4")).__name__ == "FileReader"
    with pytest.raises(SourceError, match="unsupported URL scheme"):
        make_reader("ftp://host/x.mp4")


def test_image_folder_in_name_order_skipping_unreadable_files(tmp_path, detector):
    from ssd_rt.data.synthetic import SyntheticScenes

    scenes = SyntheticScenes(3, seed=0, height=100, width=120)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"img_{i}.png"), scenes.scene(i)[0])
    (tmp_path / "img_1b.jpg").write_text("broken")
    json_path = tmp_path / "out.jsonl"
    source = Source(make_reader(str(tmp_path))).start()
    pipeline = Pipeline(source, detector, [JsonLinesWriter(json_path, detector.class_names)],
                        batch=2).start()  # fmt: skip
    assert pipeline.wait(60)
    pipeline.stop()
    assert [json.loads(x)["frame"] for x in json_path.read_text().splitlines()] == [0, 1, 2]
    assert source.end_report == "1 of 4 images could not be decoded"


def test_live_threshold_and_class_filter_changes(detector, video):
    frame = cv2.VideoCapture(str(video)).read()[1]
    detector.configure(conf=0.3, classes=None)
    all_dets = detector.detect([frame])[0][0]
    assert len(all_dets) > 0  # else the checks below would pass with nothing to filter
    high = float(all_dets.scores.max()) - 1e-4  # a threshold that keeps some, not all
    detector.configure(conf=high)
    strict = detector.detect([frame])[0][0]
    assert 0 < len(strict) == int((all_dets.scores >= high).sum())
    label = int(all_dets.labels[0])
    detector.configure(conf=0.3, classes=[detector.class_names[label - 1]])
    only = detector.detect([frame])[0][0]
    assert set(only.labels.tolist()) == {label}
    assert len(only) == int((all_dets.labels == label).sum())
    detector.configure(classes=None)
    with pytest.raises(Exception, match="has no class 'zebra'"):
        detector.configure(classes=["zebra"])
    with pytest.raises(Exception, match="score threshold"):
        detector.configure(conf=1.5)
    assert detector.settings.conf == 0.3  # a refused change leaves the settings as they were


def test_default_model_is_the_newest_in_engines(tmp_path):
    assert newest_model(tmp_path) is None
    old, new = tmp_path / "old.onnx", tmp_path / "new.engine"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    os.utime(old, (1, 1))
    assert newest_model(tmp_path) == new
    assert default_model(tmp_path) == new
