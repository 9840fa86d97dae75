"""The `ssd-rt` window (offscreen Qt): it paints the frames of a running pipeline with boxes in
the class colours, and closing it (or the end of the file) stops and joins everything."""

import threading

import pytest

pytest.importorskip("PyQt6.QtWidgets", reason="needs PyQt6 (pip install 'ssd-rt[gui]')")

from gui.video_view import class_qcolor
from gui.viewer import Viewer
from ssd_rt.data.synthetic import write_video
from ssd_rt.video.session import RunSession, SessionOptions

pytestmark = pytest.mark.gui


def session_for(model, source: str) -> RunSession:
    """A started-to-be session as `ssd-rt` makes one: model and source open, a window display."""
    session = RunSession(SessionOptions(device="cpu", renders_itself=True),
                         listener=lambda event: None, conf=0.3)  # fmt: skip
    session.load_model_now(model, "onnxruntime")
    session.open_now(source)
    return session


def colour_pixels(image, colour) -> int:
    rgb = colour.rgb()
    return sum(image.pixel(x, y) == rgb for y in range(image.height())
               for x in range(0, image.width(), 2))  # fmt: skip


def test_window_paints_boxes_in_class_colours_and_closes_at_the_end(qapp, tmp_path, slim_onnx):
    video = write_video(tmp_path / "v.mp4", 15, height=120, width=160)
    session = session_for(slim_onnx, str(video))
    viewer = Viewer(session.detector.class_names)
    session.displays = (viewer.results,)
    session.start()
    pipeline = session.pipeline
    viewer.run(session)  # returns when the file has ended and the window closed itself
    assert pipeline.done and pipeline.error is None
    assert 1 <= viewer.shown <= 15 and pipeline.stats.displayed == viewer.shown
    labels = viewer.view.result.detections.labels.tolist()
    assert labels, "the last frame had no detections to look for"
    image = viewer.view.grab().toImage()
    assert colour_pixels(image, class_qcolor(labels[0])) > 20
    absent = next(k for k in range(1, len(session.detector.class_names) + 1) if k not in labels)
    assert colour_pixels(image, class_qcolor(absent)) == 0
    session.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("ssd-rt-")]


def test_closing_the_window_stops_a_live_run(qapp, slim_onnx):
    from PyQt6.QtCore import QTimer

    session = session_for(slim_onnx, "demo")
    viewer = Viewer(session.detector.class_names)
    session.displays = (viewer.results,)
    session.start()
    QTimer.singleShot(1500, viewer.window.close)  # the user closes the window
    viewer.run(session)
    assert session.pipeline.stopped_by_user and viewer.shown > 0
    session.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("ssd-rt-")]
