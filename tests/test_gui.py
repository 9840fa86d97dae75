"""`ssd-rt-gui` (offscreen Qt, pytest-qt): a real window on a video written by OpenCV, run by the
shipped demo model on ONNX Runtime. Assertions are on what the widgets and the painted image
show: frame indices, box counts, pixels of a class colour, files written."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import pytest
import torch

pytest.importorskip("PyQt6.QtWidgets", reason="needs PyQt6 (pip install 'ssd-rt[gui]')")
pytest.importorskip("onnxruntime", reason="needs the onnx extra")

from PyQt6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PyQt6.QtGui import QDropEvent
from PyQt6.QtWidgets import QFileDialog, QInputDialog

from gui.menus import fill_camera_menu, fill_recent_menu
from gui.video_view import class_qcolor
from gui.window import MainWindow
from ssd_rt.data.synthetic import write_video
from ssd_rt.model_search import DEMO_MODEL
from tests.data_files import count_frames

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[1]
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("gui") / "clip.mp4", 60, seed=2, height=180,
                       width=320)  # fmt: skip


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, model=DEMO_MODEL, backend="onnxruntime", device="cpu")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.session.detector is not None, timeout=WAIT_MS)
    yield w
    w.close()


def ssd_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("ssd-rt-")]


def open_paused(qtbot, window, video, index: int = 0):
    """Open the video, let it play a little, then pause on frame `index`."""
    window.session.open(str(video))
    qtbot.waitUntil(lambda: window.session.shown >= 3, timeout=WAIT_MS)
    window.toggle_play()
    assert not window.session.player.playing
    window.session.seek(index)
    qtbot.waitUntil(lambda: window.session.last_shown.frame.index == index, timeout=WAIT_MS)


def shown_after(qtbot, window, change) -> object:
    """Make `change`, then wait for the view to show a newer result of the same frame."""
    before = window.view.result
    change()
    qtbot.waitUntil(lambda: window.view.result is not before, timeout=WAIT_MS)
    return window.view.result


def colour_pixels(image, colour) -> int:
    rgb = colour.rgb()
    return sum(image.pixel(x, y) == rgb for y in range(0, image.height(), 2)
               for x in range(0, image.width(), 2))  # fmt: skip


def test_open_play_pause_seek_and_step(qtbot, window, video):
    window.session.open(str(video))
    qtbot.waitUntil(lambda: window.session.shown >= 5, timeout=WAIT_MS)  # it plays on its own
    assert window.session.player.playing and window.transport.play.text() == "Pause"
    assert window.run_label.text().startswith("demo.onnx | onnxruntime on cpu")
    window.toggle_play()  # pause: the frame on screen stays
    qtbot.wait(300)
    paused_at = window.session.last_shown.frame.index
    qtbot.wait(300)
    assert window.session.last_shown.frame.index == paused_at
    assert window.transport.play.text() == "Play"
    window.transport.slider.setValue(40)  # seek with the slider
    qtbot.waitUntil(lambda: window.session.last_shown.frame.index == 40, timeout=WAIT_MS)
    assert window.transport.time.text() == "00:01.3 / 00:02.0"  # 40 of 60 frames at 30 FPS
    qtbot.keyClick(window.view, Qt.Key.Key_Right)  # step one frame
    qtbot.waitUntil(lambda: window.session.last_shown.frame.index == 41, timeout=WAIT_MS)
    qtbot.keyClick(window.view, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: window.session.last_shown.frame.index == 40, timeout=WAIT_MS)
    assert window.transport.slider.value() == 40
    qtbot.keyClick(window.view, Qt.Key.Key_Space)  # play again, to the end of the file
    qtbot.waitUntil(lambda: window.session.last_shown.frame.index == 59, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.transport.play.text() == "Play", timeout=WAIT_MS)
    assert (
        window.session.pipeline is not None and not window.session.pipeline.done
    )  # held, not ended
    qtbot.keyClick(window.view, Qt.Key.Key_F)
    assert window.isFullScreen() and window.actions.fullscreen.isChecked()
    qtbot.keyClick(window.view, Qt.Key.Key_F)
    assert not window.isFullScreen()
    assert window.recent_files() == [str(video.resolve())]


def test_a_higher_threshold_shows_fewer_boxes(qtbot, window, video):
    open_paused(qtbot, window, video, 20)
    low = shown_after(qtbot, window, lambda: window.controls.conf.spin.setValue(0.05))
    high = shown_after(qtbot, window, lambda: window.controls.conf.slider.setValue(90))
    assert window.session.detector.settings.conf == 0.9
    assert low.frame.index == high.frame.index == 20
    assert len(high.detections) < len(low.detections)
    assert (high.detections.scores >= 0.9).all()


def test_a_class_filtered_out_leaves_no_box_pixels_of_its_colour(qtbot, window, video):
    open_paused(qtbot, window, video, 30)
    result = shown_after(qtbot, window, lambda: window.controls.conf.spin.setValue(0.3))
    labels = result.detections.labels.tolist()
    assert labels, "frame 30 has no detection to filter"
    label = labels[0]
    name = window.session.detector.class_names[label - 1]
    colour = class_qcolor(label)
    assert colour_pixels(window.view.grab().toImage(), colour) > 20
    filtered = shown_after(qtbot, window, lambda: window.controls.set_class_shown(name, False))
    assert label not in filtered.detections.labels.tolist()
    assert colour_pixels(window.view.grab().toImage(), colour) == 0
    assert window.controls.shown_classes() == tuple(
        n for n in window.session.detector.class_names if n != name
    )


def test_record_export_json_and_snapshot(qtbot, window, video, tmp_path, monkeypatch):
    answers = iter([str(tmp_path / "rec"), str(tmp_path / "dets.jsonl"),
                    str(tmp_path / "shot.png")])  # fmt: skip
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args, **kwargs: (next(answers), ""))  # fmt: skip
    open_paused(qtbot, window, video, 0)
    window.actions.record.trigger()  # on: asks for a file (no suffix: .mp4 is added)
    window.actions.json.trigger()
    assert window.actions.record.isChecked() and window.actions.json.isChecked()
    window.transport.pace.setCurrentIndex(1)  # max speed
    window.toggle_play()
    qtbot.waitUntil(lambda: window.session.last_shown.frame.index >= 30, timeout=WAIT_MS)
    window.actions.record.trigger()  # off: the files are finished off the main thread
    window.actions.json.trigger()
    qtbot.waitUntil(lambda: (tmp_path / "rec.mp4").exists(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=WAIT_MS)
    assert count_frames(tmp_path / "rec.mp4") >= 20
    assert not list(tmp_path.glob("*.partial.*"))  # renamed whole, nothing left behind
    rows = [json.loads(line) for line in (tmp_path / "dets.jsonl").read_text().splitlines()]
    assert len(rows) >= 20 and [r["frame"] for r in rows] == sorted(r["frame"] for r in rows)
    assert any(r["detections"] for r in rows)
    window.actions.snapshot.trigger()
    shot = cv2.imread(str(tmp_path / "shot.png"))
    assert shot is not None and shot.shape == (180, 320, 3)  # the frame's own size


def test_errors_are_messages_in_the_window_and_it_goes_on(qtbot, window, video, tmp_path,
                                                         monkeypatch):  # fmt: skip
    window.session.open(str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(lambda: "video file not found" in window.message.text(), timeout=WAIT_MS)
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    window.session.open(str(fake))
    qtbot.waitUntil(lambda: "not a video that can" in window.message.text(), timeout=WAIT_MS)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("ftp://host/x", True))
    window.actions.stream.trigger()
    qtbot.waitUntil(lambda: "unsupported URL scheme" in window.message.text(), timeout=WAIT_MS)
    window.session.open(str(video))  # a good file after bad ones plays
    qtbot.waitUntil(lambda: window.session.shown >= 3, timeout=WAIT_MS)
    assert window.message.text() == ""  # the error bar went away with the failure
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00garbage")
    window.load_model(broken, "onnxruntime")
    assert window.progress.isVisible()  # loading runs in the background, with a busy bar
    qtbot.waitUntil(lambda: "model not loaded" in window.message.text(), timeout=WAIT_MS)
    assert not window.progress.isVisible()
    shown = window.session.shown
    qtbot.waitUntil(
        lambda: window.session.shown > shown + 3, timeout=WAIT_MS
    )  # the old model runs on
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "x.avi"),
                                                                         ""))  # fmt: skip
    window.actions.record.trigger()
    assert "end in .mp4" in window.message.text() and not window.actions.record.isChecked()


def test_dropping_a_file_opens_it_and_closing_joins_everything(qtbot, window, video, tmp_path,
                                                               monkeypatch):  # fmt: skip
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(video))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: window.session.shown >= 3, timeout=WAIT_MS)
    assert window.session.source_text == str(video)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "closing.mp4"), ""))  # fmt: skip
    window.actions.record.trigger()
    qtbot.wait(500)
    qtbot.keyClick(window.view, Qt.Key.Key_Q)  # quits: stops the run, finishes the
    assert not window.isVisible()  # recording, joins the threads
    assert ssd_threads() == []
    assert count_frames(tmp_path / "closing.mp4") > 0


def test_camera_menu_lists_cameras_found_and_a_missing_one_is_a_message(qtbot, window,
                                                                        monkeypatch):  # fmt: skip
    monkeypatch.setattr("ssd_rt.video.readers.find_cameras", lambda: [7])
    fill_camera_menu(window)
    actions = window.camera_menu.actions()
    assert [a.text() for a in actions] == ["Camera 7"]
    actions[0].trigger()  # no camera 7 here: the window says so
    qtbot.waitUntil(lambda: "camera 7 cannot be opened" in window.message.text(), timeout=WAIT_MS)
    monkeypatch.setattr("ssd_rt.video.readers.find_cameras", lambda: [])
    fill_camera_menu(window)
    assert [a.text() for a in window.camera_menu.actions()] == ["(no cameras found)"]


def test_recent_files_reopen(qtbot, window, video):
    fill_recent_menu(window)
    assert [a.text() for a in window.recent_menu.actions()] == ["(none yet)"]
    window.session.open(str(video))
    qtbot.waitUntil(lambda: window.session.shown >= 1, timeout=WAIT_MS)
    window.session.open("demo")  # not a file: not a recent one
    qtbot.waitUntil(lambda: window.session.source_text == "demo", timeout=WAIT_MS)
    fill_recent_menu(window)
    actions = window.recent_menu.actions()
    assert [a.text() for a in actions] == [str(video.resolve())]
    actions[0].trigger()
    qtbot.waitUntil(lambda: window.session.source_text == str(video.resolve()), timeout=WAIT_MS)
    assert window.session.player.seekable


def test_a_live_source_plays_and_pauses_but_cannot_seek(qtbot, window):
    window.session.open("demo")
    qtbot.waitUntil(lambda: window.session.shown >= 3, timeout=WAIT_MS)
    assert not window.transport.slider.isEnabled() and not window.transport.step.isEnabled()
    window.toggle_play()
    qtbot.wait(300)
    held = window.session.last_shown.frame.index
    qtbot.wait(300)
    assert window.session.last_shown.frame.index == held
    result = shown_after(qtbot, window, lambda: window.controls.conf.spin.setValue(0.9))
    assert result.frame.index == held  # the paused frame, detected again


def gui_command(*args, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run([sys.executable, "-m", "ssd_rt.cli.gui", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "drop", "message"),
    [
        ((), ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"), "no display found"),
        (("--bogus",), (), "unrecognized arguments: --bogus"),
        (("--model", "missing.onnx"), (), "model not found: missing.onnx"),
        (("--backend", "cuda"), (), "invalid choice: 'cuda'"),
    ],
)
def test_ssd_rt_gui_bad_start_is_one_line(args, drop, message):
    run = gui_command(*args, drop=drop)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1 and len(lines) == 1, run.stderr
    assert lines[0].startswith("ssd-rt-gui: error: ") and message in lines[0]


def test_a_model_change_restarts_the_run_on_the_same_frame(qtbot, window, video):
    open_paused(qtbot, window, video, 25)
    old = window.session.detector
    window.model_box.setCurrentIndex(window.model_box.count() - 1)  # not the loaded one
    window.load_model(DEMO_MODEL, "onnxruntime")
    qtbot.waitUntil(lambda: window.session.detector is not old, timeout=WAIT_MS)
    session = window.session
    qtbot.waitUntil(lambda: session.source is not None and session.last_shown is not None,
                    timeout=WAIT_MS)  # fmt: skip
    assert window.session.last_shown.frame.index == 25 and not window.session.player.playing
    assert window.model_box.currentData() == str(DEMO_MODEL)
    assert window.run_label.text().startswith("demo.onnx | onnxruntime on cpu")


def test_the_model_picker_offers_coco_and_converts_it(qtbot, window, tmp_path, monkeypatch):
    """The "coco" entry downloads (here: a stand-in in the hub cache) and converts off the main
    thread into ./engines, then runs with the 80 COCO classes."""
    tv = pytest.importorskip("torchvision.models.detection")
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.save(tv.ssd300_vgg16(weights=None, weights_backbone=None, num_classes=91).state_dict(),
               hub / "ssd300_vgg16_coco-b556d3b4.pth")  # fmt: skip
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.chdir(tmp_path)
    index = window.model_box.findData("coco")
    assert index >= 0 and window.model_box.itemText(index).startswith("coco")
    old = window.session.detector
    window.model_box.activated.emit(index)
    # Converting and exporting the full-width model takes ~15 s alone, minutes on a busy CPU.
    qtbot.waitUntil(lambda: window.session.detector is not old or window.message.kind == "error",
                    timeout=300_000)  # fmt: skip
    assert window.session.detector is not old, window.message.text()
    assert (
        len(window.session.detector.class_names) == 80
        and window.session.detector.class_names[0] == "person"
    )
    assert (tmp_path / "engines" / "coco.onnx").is_file()
    assert window.run_label.text().startswith("coco.onnx | onnxruntime on cpu")
