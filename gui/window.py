"""The `ssd-rt-gui` main window: a video detection player with live detector controls.

    window = MainWindow(settings=QSettings(...), model=None, backend="auto", device="auto")
    window.open_source_text("video.mp4")      # or "0" (camera), "rtsp://...", "demo"

One run = a `PlaybackSource` (capture thread) + a `Pipeline` (inference thread) whose sinks are
the `ResultBridge` to this window and, while on, a recorder and a JSON-lines writer. Opening a
source, loading a model (or building its TensorRT engine) and finishing a recording run as
`BackgroundJob`s, so the window stays responsive; their results come back as queued signals.
A model change restarts the run on the same source at the same frame.

Errors (a file that cannot be opened, a model that fails to load, a stream that drops) go to
the message bar above the video; nothing raises out of a slot (an exception there would abort
the process).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.bridge import BackgroundJob, LogBridge, ResultBridge, one_line
from gui.chart import LiveChart
from gui.controls import DetectionControls
from gui.transport import Transport
from gui.video_view import VideoView, annotated_image
from gui.viewer import stats_lines
from ssd_rt.backends.base import BACKENDS
from ssd_rt.errors import ConfigError

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm *.m4v *.ts *.mpg);;All files (*)"
MODEL_FILTER = "Models (*.engine *.onnx *.pt);;All files (*)"
MODEL_SUFFIXES = (".engine", ".onnx", ".pt")
RECENT_MAX = 8
TICK_MS = 250  # statistics, chart and end-of-run checks
SEEK_S = 5.0  # Shift+arrow jump
JOIN_S = 5.0  # closing waits this long for a background job (a recording being finalized)
BATCH = 4  # frames per inference at max speed (files); live sources always run one
MESSAGE_STYLES = {"error": "background:#b3261e;color:white;padding:4px",
                  "notice": "background:#f2c94c;color:black;padding:4px"}  # fmt: skip


class MessageBar(QWidget):
    """One line above the video for errors and notices, with a button to dismiss it."""

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("×")
        close.setFixedWidth(28)
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.kind = ""
        self.hide()

    def show_text(self, text: str, kind: str) -> None:
        self.kind = kind
        self.label.setText(text)
        self.label.setStyleSheet(MESSAGE_STYLES[kind])
        self.show()

    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()


class MainWindow(QMainWindow):
    def __init__(self, *, settings: QSettings, model: Path | None = None, backend: str = "auto",
                 device: str = "auto", conf: float = 0.4, iou: float = 0.45) -> None:  # fmt: skip
        super().__init__()
        self.settings = settings
        self.device = device
        self.model_path: Path | None = None
        self.detector = None
        self.source = None
        self.source_text: str | None = None
        self.pipeline = None
        self.recorder = None
        self.json_writer = None
        self.last_result = None
        self.shown = 0  # frames painted
        self.closing = False
        self._jobs: list[BackgroundJob] = []
        self._open_token = 0
        self._model_token = 0
        self._error_reported = False

        self.setWindowTitle("ssd-rt")
        self.setAcceptDrops(True)
        self.resize(1280, 760)
        self.bridge = ResultBridge()
        self.bridge.arrived.connect(self._show_result)
        self.log_bridge = LogBridge()
        self.log_bridge.line.connect(lambda text: self.show_message(text, "notice"))
        logging.getLogger("ssd_rt").addHandler(self.log_bridge.handler)

        self.view = VideoView(())
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.message = MessageBar()
        self.transport = Transport()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.message)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.transport)
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

        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(18)
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

        self._build_actions()
        self._wire()
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self._fill_model_box()
        self.load_model(model, backend)

    # -- actions and wiring --

    def _action(self, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work in full screen too (menus hidden or not)
        return action

    def _build_actions(self) -> None:
        key = QKeySequence
        self.open_action = self._action("&Open video…", self.ask_open_file, key.StandardKey.Open)
        self.stream_action = self._action("Open &stream URL…", self.ask_open_stream, key("Ctrl+U"))
        self.demo_action = self._action("Open &demo scenes",
                                        lambda: self.open_source_text("demo"))  # fmt: skip
        self.model_action = self._action("Choose &model…", self.ask_model, key("Ctrl+M"))
        self.quit_action = self._action("&Quit", self.close, [key("Q"), key("Ctrl+Q")])
        self.play_action = self._action("Play / pause", self.toggle_play, key("Space"))
        self.step_action = self._action("Step one frame", self.step_forward, key("Right"))
        self.back_action = self._action("Back one frame", self.step_back, key("Left"))
        self.forward_jump = self._action(f"Forward {SEEK_S:g} s",
                                         lambda: self.jump(SEEK_S), key("Shift+Right"))  # fmt: skip
        self.back_jump = self._action(f"Back {SEEK_S:g} s", lambda: self.jump(-SEEK_S),
                                      key("Shift+Left"))  # fmt: skip
        self.record_action = self._action("&Record video…", self.toggle_recording,
                                          key("Ctrl+R"), checkable=True)  # fmt: skip
        self.json_action = self._action("Export detections (&JSON lines)…", self.toggle_json,
                                        key("Ctrl+J"), checkable=True)  # fmt: skip
        self.snapshot_action = self._action("Save &snapshot…", self.ask_snapshot,
                                            key.StandardKey.Save)  # fmt: skip
        self.fullscreen_action = self._action("&Full screen", self.toggle_fullscreen, key("F"),
                                              checkable=True)  # fmt: skip

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.camera_menu = file_menu.addMenu("Open &camera")
        self.camera_menu.aboutToShow.connect(self._fill_camera_menu)
        for action in (self.stream_action, self.demo_action, None, self.model_action, None,
                       self.quit_action):  # fmt: skip
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        play_menu = menus.addMenu("&Playback")
        for action in (self.play_action, self.step_action, self.back_action, self.forward_jump,
                       self.back_jump):  # fmt: skip
            play_menu.addAction(action)
        output_menu = menus.addMenu("&Output")
        for action in (self.record_action, self.json_action, self.snapshot_action):
            output_menu.addAction(action)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.fullscreen_action)
        view_menu.addAction(self.dock.toggleViewAction())

        tools = self.addToolBar("Main")
        tools.setObjectName("main-toolbar")
        for action in (self.open_action, self.play_action, self.step_action, self.record_action,
                       self.snapshot_action):  # fmt: skip
            tools.addAction(action)
        tools.addSeparator()
        tools.addWidget(QLabel(" model "))
        tools.addWidget(self.model_box)
        tools.addWidget(QLabel(" backend "))
        tools.addWidget(self.backend_box)

    def _wire(self) -> None:
        t, c = self.transport, self.controls
        t.play_toggled.connect(self.toggle_play)
        t.step_requested.connect(self.step_forward)
        t.seek_requested.connect(self.seek)
        t.realtime_changed.connect(self._set_realtime)
        c.thresholds_changed.connect(self._apply_thresholds)
        c.classes_changed.connect(self._apply_classes)
        c.labelling_changed.connect(self._apply_labelling)
        self.model_box.activated.connect(self._model_chosen)
        self.backend_box.activated.connect(
            lambda: self.load_model(self.model_path, self.backend_box.currentText())
        )

    # -- messages --

    def show_error(self, text: str) -> None:
        self.message.show_text(text, "error")
        self.statusBar().showMessage(text, 10_000)

    def show_message(self, text: str, kind: str = "notice") -> None:
        self.message.show_text(text, kind)

    def _busy(self, text: str | None) -> None:
        self.progress.setVisible(text is not None)
        if text is not None:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

    def _job(self, name: str, work, done, failed=None) -> BackgroundJob:
        job = BackgroundJob(name, work)
        job.done.connect(done)
        job.failed.connect(failed or self.show_error)
        job.done.connect(lambda _: self._forget(job))
        job.failed.connect(lambda _: self._forget(job))
        self._jobs.append(job)
        return job.start()

    def _forget(self, job: BackgroundJob) -> None:
        if job in self._jobs:
            self._jobs.remove(job)

    # -- model --

    def _fill_model_box(self) -> None:
        from ssd_rt.model_search import available_models

        self.model_box.clear()
        models = available_models()
        for path in models:
            self.model_box.addItem(path.name, str(path))
        if not any(p.name == "coco.onnx" for p in models):  # converted on first use
            self.model_box.addItem("coco (torchvision COCO SSD300)", "coco")
        self.model_box.addItem("Other model…", None)

    def _model_chosen(self, index: int) -> None:
        path = self.model_box.itemData(index)
        if path is None:
            self.ask_model()
        else:
            self.load_model(Path(path), self.backend_box.currentText())

    def ask_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model", "engines", MODEL_FILTER)
        if path:
            self.load_model(Path(path), self.backend_box.currentText())

    def load_model(self, path: Path | None, backend: str) -> None:
        """Load (or build) the model off the main thread; the run restarts with it."""
        from ssd_rt.backends.base import load_backend
        from ssd_rt.model_search import default_model
        from ssd_rt.pretrained import resolve_model
        from ssd_rt.video.detector import Detector

        conf, iou = self.controls.conf.value(), self.controls.iou.value()
        device = self.device

        def work():
            # "coco" downloads and converts on first use (a minute or more): off the main thread.
            model = resolve_model(path) if path is not None else default_model()
            backend_object = load_backend(model, backend, device)
            try:
                return model, Detector(backend_object, conf=conf, iou=iou)
            except BaseException:
                backend_object.close()
                raise

        self._model_token += 1
        token = self._model_token
        shown = path.name if path is not None else "the default model"
        self._busy(f"loading {shown} ({backend}; building a TensorRT engine can take minutes)…")

        def failed(text: str) -> None:
            if token == self._model_token:
                self._busy(None)
                self.show_error(f"model not loaded: {text}")

        self._job("model", work, lambda value: self._model_loaded(token, *value), failed)

    def _model_loaded(self, token: int, path: Path, detector) -> None:
        if token != self._model_token or self.closing:  # a newer choice, or the window closed
            detector.backend.close()
            return
        self._busy(None)
        position, playing = self._where()
        self._stop_run()
        if self.detector is not None:
            self.detector.backend.close()
        self.detector = detector
        self.model_path = path
        self.view.class_names = detector.class_names
        self.controls.set_class_names(detector.class_names)
        self.run_label.setText(f"{path.name} | {detector.backend.describe()}")
        index = self.model_box.findData(str(path))
        if index < 0:
            self.model_box.insertItem(0, path.name, str(path))
            index = 0
        self.model_box.setCurrentIndex(index)
        if self.source_text is not None:  # the same source, at the same frame
            self.open_source_text(self.source_text, seek_to=position, play=playing)

    # -- sources --

    def ask_open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", self._last_folder(),
                                              VIDEO_FILTER)  # fmt: skip
        if path:
            self.open_source_text(path)

    def ask_open_stream(self) -> None:
        url, ok = QInputDialog.getText(self, "Open a stream", "URL (rtsp://, http://, …):")
        if ok and url.strip():
            self.open_source_text(url.strip())

    def open_source_text(self, text: str, *, seek_to: int | None = None,
                         play: bool = True) -> None:  # fmt: skip
        """Open a file, camera index, stream URL or "demo" off the main thread."""
        from ssd_rt.video.playback import PlaybackSource
        from ssd_rt.video.sources import make_reader

        self._open_token += 1
        token = self._open_token
        self._busy(f"opening {text}…")

        def work():
            return PlaybackSource(make_reader(text)).start()

        def failed(message: str) -> None:
            if token == self._open_token:
                self._busy(None)
                self.show_error(message)

        self._job("open", work, lambda source: self._source_opened(token, text, source, seek_to,
                                                                   play), failed)  # fmt: skip

    def _source_opened(self, token, text, source, seek_to, play) -> None:
        if token != self._open_token or self.closing:
            source.stop()
            return
        self._busy(None)
        self._stop_run()
        self.source, self.source_text = source, text
        self.last_result = None  # frame numbers now count in the new source
        if self.message.kind == "error":  # the failure it told of is over
            self.message.hide()
        self.transport.set_source(seekable=source.seekable, frames=source.frame_count or 0,
                                  fps=source.fps)  # fmt: skip
        self.setWindowTitle(f"ssd-rt - {source.name}")
        if source.seekable:
            self._remember(text)
            source.realtime = self.transport.pace.currentIndex() == 0
            if seek_to:
                source.seek(seek_to)
        if play:
            source.play()
        self.transport.set_playing(source.playing)
        self._start_run()

    def _start_run(self) -> None:
        from ssd_rt.video.pipeline import Pipeline

        if self.source is None or self.detector is None or self.pipeline is not None:
            return
        self._error_reported = False
        self.chart.clear()
        self.pipeline = Pipeline(self.source, self.detector, [self.bridge], batch=BATCH,
                                 renders_itself=True).start()  # fmt: skip

    def _stop_run(self) -> None:
        """Stop and join the run (source, inference, sinks); recordings are finalized."""
        if self.pipeline is not None:
            self.pipeline.stop()  # closes every sink it has, the recorder and JSON writer too
            self._outputs_closed()
            self.pipeline = None
        elif self.source is not None:
            self.source.stop()
        self.source = None
        self.bridge.take()  # a result of the old run is not shown

    def _where(self) -> tuple[int | None, bool]:
        """(frame on screen for files, playing) to resume after a restart."""
        source = self.source
        if source is None:
            return None, True
        return (self._on_screen() if source.seekable else None), source.playing

    # -- playback --

    def toggle_play(self) -> None:
        if self.source is None:
            return
        if self.source.playing:
            self._pause_on_screen()
        else:
            self.source.play()
        self.transport.set_playing(self.source.playing)

    def _pause_on_screen(self) -> None:
        """Pause on the frame on screen: frames decoded ahead of it are dropped (a seek to it),
        so the picture freezes where the user pressed and a step goes on from there."""
        self.source.pause()
        if self.source.seekable:
            self.source.seek(self._on_screen())
        self.transport.set_playing(False)

    def _on_screen(self) -> int:
        result = self.last_result
        return result.frame.index if result is not None else max(self.source.position, 0)

    def step_forward(self) -> None:
        if self.source is not None and self.source.seekable:
            if self.source.playing:
                self._pause_on_screen()
            self.source.step()

    def step_back(self) -> None:
        if self.source is not None and self.source.seekable:
            self.source.pause()
            self.source.seek(max(self._on_screen() - 1, 0))
            self.transport.set_playing(False)

    def jump(self, seconds: float) -> None:
        if self.source is not None and self.source.seekable:
            frames = round(seconds * (self.source.fps or 30.0))
            self.seek(max(self._on_screen() + frames, 0))

    def seek(self, index: int) -> None:
        if self.source is not None and self.source.seekable:
            self.source.seek(index)

    def _set_realtime(self, realtime: bool) -> None:
        if self.source is not None:
            self.source.realtime = realtime

    # -- live detector controls --

    def _configure(self, **changes) -> None:
        if self.detector is None:
            return
        try:
            self.detector.configure(**changes)
        except ConfigError as err:
            self.show_error(str(err))
            return
        if self.source is not None and not self.source.playing:
            self.source.refresh()  # paused: show the change on the frame on screen

    def _apply_thresholds(self, conf: float, iou: float) -> None:
        self._configure(conf=conf, iou=iou)

    def _apply_classes(self, names) -> None:
        self._configure(classes=names)

    def _apply_labelling(self, labels: bool, scores: bool) -> None:
        self.view.show_labels, self.view.show_scores = labels, scores
        self.view.update()

    # -- frames and statistics (main thread) --

    def _show_result(self) -> None:
        result = self.bridge.take()
        if result is None or self.pipeline is None or self.source is None:
            return
        if result.frame.epoch < self.source.epoch:
            return  # decoded before the latest seek
        snapshot = self.pipeline.stats.snapshot()
        self.view.show_result(result, stats_lines(snapshot))
        self.pipeline.stats.add_displayed(result.frame.captured_at)
        self.last_result = result
        self.shown += 1
        self.transport.set_position(result.frame.index)

    def _tick(self) -> None:
        pipeline = self.pipeline
        if pipeline is None:
            return
        snapshot = pipeline.stats.snapshot()
        self.chart.add(snapshot.display_fps, snapshot.stage_ms.get("infer", 0.0))
        self.transport.set_playing(self.source.playing if self.source else False)
        if pipeline.done and not self._error_reported:
            self._error_reported = True
            if pipeline.error is not None:
                self.show_error(one_line(pipeline.error))
            self._outputs_closed()

    # -- outputs --

    def _ask_save(self, title: str, suffix: str, kind: str, default: str) -> Path | None:
        """A file name from the save dialog with `suffix` added when it has none; None when
        cancelled or wrong (the reason is shown)."""
        name, _ = QFileDialog.getSaveFileName(self, title, default, f"{kind} (*{suffix})")
        if not name:
            return None
        path = Path(name)
        if path.suffix == "":
            path = path.with_suffix(suffix)
        if path.suffix.lower() != suffix:
            self.show_error(f"{path.name}: {kind.lower()} files end in {suffix}")
            return None
        from ssd_rt.files import require_writable_folder

        try:
            require_writable_folder(path.parent, title.lower())
        except ConfigError as err:
            self.show_error(str(err))
            return None
        return path

    def toggle_recording(self, on: bool) -> None:
        from ssd_rt.video.sinks import VideoRecorder

        self._toggle_output(on, self.record_action, "recorder", "recording",
                            ("Record video", ".mp4", "MP4 video"),
                            lambda path: VideoRecorder(path, self.source.fps or 30.0,
                                                       self.detector.class_names))  # fmt: skip

    def toggle_json(self, on: bool) -> None:
        from ssd_rt.video.sinks import JsonLinesWriter

        names = self.detector.class_names if self.detector is not None else ()
        self._toggle_output(on, self.json_action, "json_writer", "detections",
                            ("Export detections", ".jsonl", "JSON lines"),
                            lambda path: JsonLinesWriter(path, names))  # fmt: skip

    def _toggle_output(self, on: bool, action: QAction, attribute: str, what: str,
                       dialog: tuple[str, str, str], make_sink) -> None:  # fmt: skip
        """Start one output (ask for a file, attach its sink to the run) or stop it (detach it,
        finish the file); `dialog` is (title, suffix, kind of file)."""
        if not on:
            self._close_output(attribute, what)
            return
        if self.pipeline is None:
            action.setChecked(False)
            self.show_error(f"no {what} yet: open a video, a camera or a stream first")
            return
        title, suffix, kind = dialog
        path = self._ask_save(title, suffix, kind, self._default_name(suffix))
        sink = None
        if path is not None:
            try:
                sink = make_sink(path)
            except OSError as err:
                self.show_error(f"cannot write {path}: {err.strerror}")
        if sink is None:
            action.setChecked(False)
            return
        setattr(self, attribute, sink)
        self.pipeline.add_sink(sink)
        self.statusBar().showMessage(f"writing {what} to {path}")

    def _close_output(self, attribute: str, what: str) -> None:
        """Detach a file sink and finish its file off the main thread."""
        sink = getattr(self, attribute)
        setattr(self, attribute, None)
        if sink is None:
            return
        if self.pipeline is not None:
            self.pipeline.remove_sink(sink)
        self._job(f"finish-{what}", lambda: sink.close() or sink.path,
                  lambda path: self.statusBar().showMessage(f"saved {what} to {path}", 10_000),
                  lambda text: self.show_error(f"{what} not saved: {text}"))  # fmt: skip

    def _outputs_closed(self) -> None:
        """The run ended (its pipeline closed every sink): the output actions go off."""
        for action, attribute in ((self.record_action, "recorder"),
                                  (self.json_action, "json_writer")):  # fmt: skip
            sink = getattr(self, attribute)
            if sink is not None:
                self.statusBar().showMessage(f"saved {sink.path}", 10_000)
            setattr(self, attribute, None)
            action.setChecked(False)

    def ask_snapshot(self) -> None:
        result = self.last_result
        if result is None:
            self.show_error("nothing to save yet: no frame has been shown")
            return
        path = self._ask_save("Save snapshot", ".png", "PNG image",
                              self._default_name(f"-frame{result.frame.index}.png"))  # fmt: skip
        if path is not None:
            self.save_snapshot(path, result)

    def save_snapshot(self, path: Path, result) -> None:
        image = annotated_image(result, self.view.class_names, show_labels=self.view.show_labels,
                                show_scores=self.view.show_scores)  # fmt: skip
        if not image.save(str(path), "PNG"):
            self.show_error(f"cannot write the snapshot {path}")
        else:
            self.statusBar().showMessage(f"saved snapshot {path}", 10_000)

    def _default_name(self, suffix: str) -> str:
        """The video's name for its outputs (`clip-detections.mp4`); live ones get a generic one."""
        seekable = self.source is not None and self.source.seekable
        stem = Path(self.source_text).stem if seekable else "ssd-rt-live"
        return str(Path(self._last_folder()) / f"{stem}-detections{suffix}")

    # -- recent files, cameras, drag and drop --

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", recent[:RECENT_MAX])

    def _last_folder(self) -> str:
        recent = self.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.cwd())

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_source_text(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    def _fill_camera_menu(self) -> None:
        from ssd_rt.video.readers import find_cameras

        self.camera_menu.clear()
        for index in find_cameras():
            action = self.camera_menu.addAction(f"Camera {index}")
            action.triggered.connect(lambda _=False, i=index: self.open_source_text(str(i)))
        if self.camera_menu.isEmpty():
            self.camera_menu.addAction("(no cameras found)").setEnabled(False)

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
            self.load_model(path, self.backend_box.currentText())
        else:
            self.open_source_text(str(path))

    # -- window --

    def toggle_fullscreen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def closeEvent(self, event) -> None:
        """Stop and join everything: the run, its files, the jobs still working."""
        self.closing = True
        self.timer.stop()
        self._stop_run()
        for job in list(self._jobs):
            job.join(JOIN_S)
        if self.detector is not None:
            self.detector.backend.close()
            self.detector = None
        logging.getLogger("ssd_rt").removeHandler(self.log_bridge.handler)
        event.accept()
