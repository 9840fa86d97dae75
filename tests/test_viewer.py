"""The `ssd-rt` window (offscreen Qt): it paints the frames of a running pipeline with boxes in
the class colours, and closing it (or the end of the file) stops and joins everything."""

import threading

import pytest

pytest.importorskip("PyQt6.QtWidgets", reason="needs PyQt6 (pip install 'ssd-rt[gui]')")

from gui.video_view import class_qcolor
from gui.viewer import Viewer
from ssd_rt.backends.base import load_backend
from ssd_rt.data.synthetic import write_video
from ssd_rt.video.detector import Detector
from ssd_rt.video.pipeline import Pipeline
from ssd_rt.video.readers import DemoReader, FileReader
from ssd_rt.video.sources import Source

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def detector(slim_onnx):
    return Detector(load_backend(slim_onnx, "onnxruntime", "cpu", threads=1), conf=0.3)


def colour_pixels(image, colour) -> int:
    rgb = colour.rgb()
    return sum(image.pixel(x, y) == rgb for y in range(image.height())
               for x in range(0, image.width(), 2))  # fmt: skip


def test_window_paints_boxes_in_class_colours_and_closes_at_the_end(qapp, tmp_path, detector):
    video = write_video(tmp_path / "v.mp4", 15, height=120, width=160)
    viewer = Viewer(detector.class_names)
    pipeline = Pipeline(Source(FileReader(video)).start(), detector, [viewer.results],
                        renders_itself=True)  # fmt: skip
    pipeline.start()
    viewer.run(pipeline)  # returns when the file has ended and the window closed itself
    assert pipeline.done and pipeline.error is None
    assert 1 <= viewer.shown <= 15 and pipeline.stats.displayed == viewer.shown
    labels = viewer.view.result.detections.labels.tolist()
    assert labels, "the last frame had no detections to look for"
    image = viewer.view.grab().toImage()
    assert colour_pixels(image, class_qcolor(labels[0])) > 20
    absent = next(k for k in range(1, len(detector.class_names) + 1) if k not in labels)
    assert colour_pixels(image, class_qcolor(absent)) == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("ssd-rt-")]


def test_closing_the_window_stops_a_live_run(qapp, detector):
    from PyQt6.QtCore import QTimer

    viewer = Viewer(detector.class_names)
    source = Source(DemoReader(live=True, fps=30.0, height=120, width=160)).start()
    pipeline = Pipeline(source, detector, [viewer.results], renders_itself=True).start()
    QTimer.singleShot(1500, viewer.window.close)  # the user closes the window
    viewer.run(pipeline)
    assert pipeline.stopped_by_user and viewer.shown > 0
    assert not [t for t in threading.enumerate() if t.name.startswith("ssd-rt-")]
