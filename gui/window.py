"""The `ssd-rt-gui` main window: a video detection player with live detector controls.

    window = MainWindow(settings=QSettings(...), model=None, backend="auto", device="auto")
    window.session.open("video.mp4")      # or "0" (camera), "rtsp://...", "demo"

The run itself (model, source, pipeline, outputs, playback) is a `RunSession` (Qt-free,
ssd_rt/video/session.py) owned by this window's main thread: its background work comes back
through `MainThreadCalls`, its events become widgets. The window keeps widgets and wiring only:
menus, dialogs, the view, and what the user asked for, turned into session calls.

Errors (a file that cannot be opened, a model that fails to load, a stream that drops) go to
the message bar above the video; nothing raises out of a slot (an exception there would abort
the process).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from gui.bridge import LogBridge, MainThreadCalls, ResultBridge
from gui.chart import LiveChart
from gui.controls import DetectionControls
from gui.menus import build_actions
from gui.message_bar import MessageBar
from gui.model_picker import ModelPicker
from gui.recent import RecentFiles
from gui.transport import Transport
from gui.video_view import VideoView, annotated_image
from ssd_rt.backends.base import BACKENDS
from ssd_rt.errors import ConfigError
from ssd_rt.triton.url import model_label
from ssd_rt.video import events
from ssd_rt.video.session import RunSession, SessionOptions
from ssd_rt.video.stats import stats_lines

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm *.m4v *.ts *.mpg);;All files (*)"
MODEL_FILTER = "Models (*.engine *.onnx *.pt);;All files (*)"
MODEL_SUFFIXES = (".engine", ".onnx", ".pt")
TICK_MS = 250  # statistics, chart and end-of-run checks
OUTPUT_DIALOGS = {"recording": ("Record video", ".mp4", "MP4 video"),
                  "detections": ("Export detections", ".jsonl", "JSON lines")}  # fmt: skip


class MainWindow(QMainWindow):
    def __init__(self, *, settings: QSettings, model: Path | None = None, backend: str = "auto",
                 device: str = "auto", conf: float = 0.4, iou: float = 0.45) -> None:  # fmt: skip
        super().__init__()
        self.recent = RecentFiles(settings)
        self.calls = MainThreadCalls()
        self.bridge = ResultBridge()  # the first sink of every run: results to paint, paced
        self.bridge.ready.connect(self._show_result)
        options = SessionOptions(device=device, player=True, renders_itself=True)
        self.session = RunSession(options, listener=self._on_event, post=self.calls.post,
                                  conf=conf, iou=iou, displays=(self.bridge,))  # fmt: skip
        self.setWindowTitle("ssd-rt")
        self.setAcceptDrops(True)
        self.resize(1280, 760)
        self.log_bridge = LogBridge()
        self.log_bridge.line.connect(lambda text: self.show_message(text, "notice"))
        logging.getLogger("ssd_rt").addHandler(self.log_bridge.handler)
        self._build_widgets(conf, iou, backend)
        self.actions = build_actions(self)
        self._wire()
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.model_box.fill()
        self.load_model(model)

    def _build_widgets(self, conf: float, iou: float, backend: str) -> None:
        self.view = VideoView(())
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.message = MessageBar()
        self.transport = Transport()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for widget, stretch in ((self.message, 0), (self.view, 1), (self.transport, 0)):
            layout.addWidget(widget, stretch)
        self.setCentralWidget(central)
        self.controls = DetectionControls(conf, iou)
        self.chart = LiveChart()
        panel = QWidget()
        panel_layout = QVBoxLayout(panel)
        panel_layout.addWidget(self.controls, 1)
        panel_layout.addWidget(QLabel("display FPS / inference ms"))
        panel_layout.addWidget(self.chart)
        self.dock = QDockWidget("Detector", self)
        self.dock.setObjectName("detector-dock")
        self.dock.setWidget(panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.model_box = ModelPicker()
        self.backend_box = QComboBox()
        self.backend_box.addItems(BACKENDS)
        self.backend_box.setCurrentText(backend)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: loading a model or building an engine
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.run_label = QLabel("no model")
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.run_label)

    def _wire(self) -> None:
        t, c, s = self.transport, self.controls, self.session
        t.play_toggled.connect(self.toggle_play)
        t.step_requested.connect(s.step)
        t.seek_requested.connect(s.seek)
        t.realtime_changed.connect(s.set_realtime)
        c.thresholds_changed.connect(lambda conf, iou: self._configure(conf=conf, iou=iou))
        c.classes_changed.connect(lambda names: self._configure(classes=names))
        c.labelling_changed.connect(self._apply_labelling)
        self.model_box.picked.connect(self._model_chosen)
        self.backend_box.activated.connect(lambda: self.load_model(self.session.model_path))

    # -- what the session reports --

    def _on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Busy):
            self.progress.setVisible(event.text is not None)
            bar = self.statusBar()
            bar.showMessage(event.text) if event.text else bar.clearMessage()
        elif isinstance(event, events.Failed):
            self.show_error(event.text)
        elif isinstance(event, events.ModelLoaded):
            self._model_loaded(event.path, event.detector)
        elif isinstance(event, events.SourceOpened):
            self._source_opened(event.text)
        elif isinstance(event, events.RunEnded) and event.error is not None:
            self.show_error(events.one_line(event.error))
        elif isinstance(event, events.OutputClosed):
            self.actions.output(event.name).setChecked(False)
            if event.error is None:
                self.statusBar().showMessage(f"saved {event.name} to {event.path}", 10_000)
            else:
                self.show_error(f"{event.name} not saved: {event.error}")

    def show_error(self, text: str) -> None:
        self.message.show_text(text, "error")
        self.statusBar().showMessage(text, 10_000)

    def show_message(self, text: str, kind: str = "notice") -> None:
        self.message.show_text(text, kind)

    # -- model --

    def _model_chosen(self, choice) -> None:
        self.ask_model() if choice is None else self.load_model(choice)

    def ask_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model", "engines", MODEL_FILTER)
        if path:
            self.load_model(Path(path))

    def load_model(self, path: Path | None, backend: str | None = None) -> None:
        self.session.load_model(path, backend or self.backend_box.currentText())

    def _model_loaded(self, path: Path, detector) -> None:
        self.chart.clear()
        self.view.class_names = detector.class_names
        self.controls.set_class_names(detector.class_names)
        self.run_label.setText(f"{model_label(path)} | {detector.backend.describe()}")
        self.model_box.show_loaded(path)

    # -- sources --

    def ask_open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", self._last_folder(),
                                              VIDEO_FILTER)  # fmt: skip
        if path:
            self.session.open(path)

    def ask_open_stream(self) -> None:
        url, ok = QInputDialog.getText(self, "Open a stream", "URL (rtsp://, http://, …):")
        if ok and url.strip():
            self.session.open(url.strip())

    def _source_opened(self, text: str) -> None:
        player = self.session.player
        self.bridge.clear()  # a result of the old run is not shown
        self.chart.clear()
        if self.message.kind == "error":  # the failure it told of is over
            self.message.hide()
        self.transport.set_source(seekable=player.seekable, frames=player.frame_count or 0,
                                  fps=player.fps)  # fmt: skip
        self.setWindowTitle(f"ssd-rt - {player.source.name}")
        if player.seekable:
            self.recent.remember(text)
            self.session.set_realtime(self.transport.pace.currentIndex() == 0)
        self.transport.set_playing(player.playing)

    # -- detector controls, frames and statistics (main thread) --

    def toggle_play(self) -> None:
        self.session.toggle_play()
        self.transport.set_playing(self.session.player is not None and self.session.playing)

    def _configure(self, **changes) -> None:
        try:
            self.session.configure(**changes)
        except ConfigError as err:
            self.show_error(str(err))

    def _apply_labelling(self, labels: bool, scores: bool) -> None:
        self.view.show_labels, self.view.show_scores = labels, scores
        self.view.update()

    def _show_result(self) -> None:
        result = self.bridge.take()
        pipeline = self.session.pipeline
        if result is None or not self.session.accept(result):
            return
        self.view.show_result(result, stats_lines(pipeline.stats.snapshot(), display=True))
        self.transport.set_position(result.frame.index)

    def _tick(self) -> None:
        session = self.session
        session.tick()
        if session.pipeline is not None:
            snapshot = session.pipeline.stats.snapshot()
            self.chart.add(snapshot.display_fps, snapshot.stage_ms.get("infer", 0.0))
        self.transport.set_playing(session.player is not None and session.player.playing)

    # -- outputs --

    def _ask_save(self, title: str, suffix: str, kind: str, default: Path) -> Path | None:
        """A file name from the save dialog, `suffix` added when it has none; None when
        cancelled or of another kind (the reason is shown)."""
        name, _ = QFileDialog.getSaveFileName(self, title, str(default), f"{kind} (*{suffix})")
        if not name:
            return None
        path = Path(name)
        path = path.with_suffix(suffix) if path.suffix == "" else path
        if path.suffix.lower() != suffix:
            self.show_error(f"{path.name}: {kind.lower()} files end in {suffix}")
            return None
        return path

    def toggle_output(self, name: str, on: bool) -> None:
        """Start output `name` (ask for a file, attach it to the run) or stop it."""
        if not on:
            self.session.stop_output(name)
            return
        title, suffix, kind = OUTPUT_DIALOGS[name]
        path = None
        if self.session.pipeline is None:
            self.show_error(f"no {name} yet: open a video, a camera or a stream first")
        else:
            default = self.session.output_name(suffix, Path(self._last_folder()))
            path = self._ask_save(title, suffix, kind, default)
        try:
            if path is not None:
                self.session.start_output(name, path)
                self.statusBar().showMessage(f"writing {name} to {path}")
                return
        except ConfigError as err:
            self.show_error(str(err))
        self.actions.output(name).setChecked(False)

    def ask_snapshot(self) -> None:
        result = self.session.last_shown
        if result is None:
            self.show_error("nothing to save yet: no frame has been shown")
            return
        folder = Path(self._last_folder())
        default = self.session.output_name(f"-frame{result.frame.index}.png", folder)
        path = self._ask_save("Save snapshot", ".png", "PNG image", default)
        if path is not None:
            self.save_snapshot(path, result)

    def save_snapshot(self, path: Path, result) -> None:
        image = annotated_image(result, self.view.class_names, show_labels=self.view.show_labels,
                                show_scores=self.view.show_scores)  # fmt: skip
        if not image.save(str(path), "PNG"):
            self.show_error(f"cannot write the snapshot {path}")
        else:
            self.statusBar().showMessage(f"saved snapshot {path}", 10_000)

    # -- recent files, cameras, drag and drop --

    def recent_files(self) -> list[str]:
        return self.recent.paths()

    def _last_folder(self) -> str:
        return self.recent.last_folder()

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if not urls or not urls[0].isLocalFile():
            return
        path = Path(urls[0].toLocalFile())
        event.acceptProposedAction()
        if path.suffix.lower() in MODEL_SUFFIXES:
            self.load_model(path)
        else:
            self.session.open(str(path))

    # -- window --

    def toggle_fullscreen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def closeEvent(self, event) -> None:
        """Stop and join everything: the run, its files, the jobs still working."""
        self.timer.stop()
        self.session.close()
        logging.getLogger("ssd_rt").removeHandler(self.log_bridge.handler)
        event.accept()
