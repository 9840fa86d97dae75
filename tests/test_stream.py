"""A real network stream: ffmpeg serves a file over HTTP (MPEG-TS) on 127.0.0.1, is killed
mid-run and restarted, and the pipeline reconnects and goes on.

ffmpeg comes from Debian's package, installed by `make test` where it can be; without it these
tests skip with the reason.
"""

import shutil
import subprocess
import threading
import time

import pytest

from ssd_rt.backends.base import load_backend
from ssd_rt.data.synthetic import write_video
from ssd_rt.video.detector import Detector
from ssd_rt.video.pipeline import Pipeline
from ssd_rt.video.readers import StreamReader
from ssd_rt.video.sources import Source
from tests.data_files import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ffmpeg") is None,
                       reason="needs ffmpeg (Debian package; `make test` installs it as root)"),
]  # fmt: skip


def serve(video, url: str) -> subprocess.Popen:
    """ffmpeg serving `video` in a loop, at its own rate, to one HTTP client at `url`."""
    return subprocess.Popen(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-re",
            "-stream_loop",
            "-1",
            "-i",
            str(video),
            # MPEG-2 repeats its sequence header in-band, so a client joining mid-stream decodes
            # (mp4v copied from MP4 keeps its header out of band: "Picture size 0x0").
            "-c:v",
            "mpeg2video",
            "-g",
            "10",
            "-q:v",
            "5",
            "-f",
            "mpegts",
            "-listen",
            "1",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_stream_killed_and_restarted_mid_run_reconnects(tmp_path, slim_onnx):
    video = write_video(tmp_path / "loop.mp4", 60, height=120, width=160)
    url = f"http://127.0.0.1:{free_port()}/live.ts"
    server = serve(video, url)
    detector = Detector(load_backend(slim_onnx, "onnxruntime", "cpu", threads=1), conf=0.3)
    pipeline = None
    try:
        time.sleep(0.5)  # ffmpeg listening
        source = Source(StreamReader(url, timeout_ms=3000), reconnect_s=30).start()
        assert source.live
        pipeline = Pipeline(source, detector, []).start()
        assert wait_for(lambda: pipeline.stats.frames >= 10, 30), "no frames from the stream"

        server.kill()  # the stream drops
        server.wait()
        assert wait_for(lambda: not pipeline.done and source.reconnects == 0, 1)
        before = pipeline.stats.frames
        time.sleep(1.0)
        server = serve(video, url)  # and comes back
        assert wait_for(lambda: source.reconnects >= 1, 30), "the source did not reconnect"
        assert wait_for(lambda: pipeline.stats.frames >= before + 10, 30)
        assert not pipeline.done and pipeline.error is None
    finally:
        if pipeline is not None:
            pipeline.stop()
        server.kill()
        server.wait()


def test_stream_that_does_not_come_back_ends_with_a_clear_error(tmp_path, slim_onnx):
    video = write_video(tmp_path / "loop.mp4", 30, height=120, width=160)
    url = f"http://127.0.0.1:{free_port()}/live.ts"
    server = serve(video, url)
    detector = Detector(load_backend(slim_onnx, "onnxruntime", "cpu", threads=1), conf=0.3)
    try:
        time.sleep(0.5)
        source = Source(StreamReader(url, timeout_ms=2000), reconnect_s=2.0).start()
        pipeline = Pipeline(source, detector, []).start()
        assert wait_for(lambda: pipeline.stats.frames >= 5, 30)
        server.kill()
        assert pipeline.wait(30)
        pipeline.stop()
        assert "sent no frame for 2 s; giving up" in str(pipeline.error)
    finally:
        server.kill()
        server.wait()


@pytest.mark.gui
def test_the_player_window_says_when_a_stream_drops(tmp_path, qtbot):
    pytest.importorskip("PyQt6.QtWidgets", reason="needs PyQt6 (pip install 'ssd-rt[gui]')")
    from PyQt6.QtCore import QSettings

    from gui.window import MainWindow
    from ssd_rt.model_search import DEMO_MODEL

    video = write_video(tmp_path / "loop.mp4", 60, height=120, width=160)
    url = f"http://127.0.0.1:{free_port()}/live.ts"
    server = serve(video, url)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, model=DEMO_MODEL,
                        backend="onnxruntime", device="cpu")  # fmt: skip
    qtbot.addWidget(window)
    window.show()
    try:
        time.sleep(0.5)  # ffmpeg listening
        window.session.open(url)
        qtbot.waitUntil(lambda: window.session.shown >= 5, timeout=30_000)
        assert not window.transport.slider.isEnabled()  # a stream cannot seek
        server.kill()  # the stream drops: the window says so and reconnects
        server.wait()
        qtbot.waitUntil(lambda: "dropped; reconnecting" in window.message.text(), timeout=30_000)
        assert window.message.kind == "notice"
        window.close()
        assert not [t for t in threading.enumerate() if t.name.startswith("ssd-rt-")]
    finally:
        server.kill()
        server.wait()
