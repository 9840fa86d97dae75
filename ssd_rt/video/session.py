"""One run of ssd-rt, without Qt: a model, a source, the pipeline between them and its outputs.

    session = RunSession(SessionOptions(player=True), listener=on_event, post=calls.post)
    session.load_model(Path("engines/demo.onnx"))   # in the background; ModelLoaded or Failed
    session.open("clip.mp4")                         # in the background; SourceOpened or Failed
    session.toggle_play(); session.step(); session.seek(120); session.jump(-5.0)
    session.start_output("recording", Path("out.mp4")); session.stop_output("recording")
    session.accept(result)     # a display shows `result`: stale ones are refused, stats count it
    session.tick()             # the run ended by itself? RunEnded, once
    session.close()            # stops and joins everything, finishes the files

`ssd-rt` (headless and windowed), its viewer and the `ssd-rt-gui` player all drive this object;
the window only paints and turns clicks into these calls.

Threads: the session belongs to one owner thread (the Qt main thread, or the command's). Work
that takes time (loading a model, which may download or build an engine; opening a stream;
finishing a recording) runs in a thread of its own, and its result comes back through `post`,
which runs a callable on the owner thread (a queued Qt signal in the GUI; `jobs.CallQueue` here).
Every state change therefore happens on the owner thread, and every event reaches `listener`
there. A newer request supersedes an older one still running (each carries a token), so the
last model or source the user chose is the one that runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ssd_rt.errors import ConfigError
from ssd_rt.redact import mask_credentials
from ssd_rt.triton.url import is_triton_url, model_label
from ssd_rt.video.events import (
    Busy,
    Event,
    Failed,
    ModelLoaded,
    OutputClosed,
    RunEnded,
    SourceOpened,
    one_line,
)
from ssd_rt.video.frames import Result
from ssd_rt.video.jobs import CallQueue, Jobs

log = logging.getLogger("ssd_rt")

JOIN_S = 5.0  # close() waits this long for a background job (a recording being finalized)
OUTPUTS = {"recording": ".mp4", "detections": ".jsonl"}  # output name -> file suffix


@dataclass(frozen=True)
class SessionOptions:
    device: str = "auto"
    batch: int = 4  # frames per inference for files; live sources always run one
    max_frames: int | None = None
    player: bool = False  # True: sources are opened as a playback.Player (pause, step, seek)
    renders_itself: bool = False  # a window counts frames as displayed (accept) when it paints
    demo_live: bool = True  # the demo source paced like a camera, or every frame like a file
    reconnect_s: float = 30.0  # how long a dropped stream is retried


class RunSession:
    def __init__(self, options: SessionOptions, *, listener: Callable[[Event], None] = print,
                 post: Callable[[Callable[[], None]], None] | None = None,
                 conf: float = 0.4, iou: float = 0.45, classes: list[str] | None = None,
                 displays: tuple = ()) -> None:  # fmt: skip
        """`displays`: sinks every run starts with (a window's newest-result slot)."""
        self.options = options
        self.displays = displays
        self.listener = listener
        self.calls = CallQueue() if post is None else None
        self._post = post or self.calls.post
        self.thresholds = {"conf": conf, "iou": iou, "classes": classes}
        self.detector = None  # video.detector.Detector, owned here (its backend closed here)
        self.model_path: Path | None = None
        self.source = None  # video.sources.Source of the run
        self.player = None  # video.playback.Player that feeds `source` (player sessions)
        self.source_text: str | None = None
        self.pipeline = None
        self.outputs: dict[str, object] = {}  # output name -> file sink attached to the run
        self.last_shown: Result | None = None
        self.shown = 0  # results accepted by a display
        self.closing = False
        self.jobs = Jobs(self._post)
        self._tokens = {"model": 0, "open": 0}
        self._ended_reported = False

    # -- background work --

    @property
    def busy(self) -> bool:
        """A model load, source open or file finish is still running."""
        return self.jobs.busy

    def _token(self, kind: str) -> int:
        self._tokens[kind] += 1
        return self._tokens[kind]

    def _current(self, kind: str, token: int) -> bool:
        return token == self._tokens[kind] and not self.closing

    # -- model --

    def _load_detector(self, path: Path | str | None, backend: str):
        """(model file, Detector): resolves names ("coco") and the default model; may take
        minutes (a download, an engine build)."""
        from ssd_rt.backends.base import load_backend
        from ssd_rt.model_search import default_model
        from ssd_rt.pretrained import resolve_model
        from ssd_rt.video.detector import Detector

        model = resolve_model(path) if path is not None else default_model()
        loaded = load_backend(model, backend, self.options.device)
        try:
            return model, Detector(loaded, **self.thresholds)
        except BaseException:
            loaded.close()
            raise

    def load_model_now(self, path: Path | str | None, backend: str = "auto") -> None:
        """Load in the owner thread (a command that has nothing else to do meanwhile)."""
        self._model_loaded(self._token("model"), *self._load_detector(path, backend))

    def load_model(self, path: Path | str | None, backend: str = "auto") -> None:
        """Load (or build) the model in the background; a running source restarts with it."""
        token = self._token("model")
        shown = model_label(path) if path is not None else "the default model"
        self.listener(Busy(f"loading {shown} ({backend}; building a TensorRT engine can take "
                           "minutes)…"))  # fmt: skip

        def failed(text: str) -> None:
            if self._current("model", token):
                self.listener(Busy(None))
                self.listener(Failed(f"model not loaded: {text}"))

        self.jobs.run("model", lambda: self._load_detector(path, backend),
                         lambda value: self._model_loaded(token, *value), failed)  # fmt: skip

    def _model_loaded(self, token: int, path: Path, detector) -> None:
        if not self._current("model", token):  # a newer choice, or the session closed
            detector.backend.close()
            return
        self.listener(Busy(None))
        if self.pipeline is None:  # nothing runs yet: a source already open starts with it
            self._swap_detector(path, detector)
            if self.player is not None:
                self.start()
            return
        position, playing = self._where()
        self._stop_run()
        self._swap_detector(path, detector)
        if self.source_text is not None:  # the same source, at the same frame
            self.open(self.source_text, seek_to=position, play=playing)

    def _swap_detector(self, path: Path, detector) -> None:
        if self.detector is not None:
            self.detector.backend.close()
        self.detector, self.model_path = detector, path
        self.listener(ModelLoaded(path, detector))

    # -- source --

    def _open_source(self, text: str):
        """A started Player (player sessions) or Source for `text`; SourceError if it cannot."""
        from ssd_rt.video.sources import make_reader

        reader = make_reader(text, demo_live=self.options.demo_live)
        if self.options.player:
            from ssd_rt.video.playback import Player

            return Player(reader, reconnect_s=self.options.reconnect_s).start()
        from ssd_rt.video.sources import Source

        return Source(reader, reconnect_s=self.options.reconnect_s).start()

    def open_now(self, text: str) -> None:
        """Open in the owner thread; a SourceError is raised (one line for a command)."""
        self._source_opened(self._token("open"), text, self._open_source(text), None, True)

    def open(self, text: str, *, seek_to: int | None = None, play: bool = True) -> None:
        """Open a file, camera index, stream URL or "demo" in the background."""
        token = self._token("open")
        self.listener(Busy(f"opening {mask_credentials(text)}…"))

        def failed(message: str) -> None:
            if self._current("open", token):
                self.listener(Busy(None))
                self.listener(Failed(message))

        self.jobs.run("open", lambda: self._open_source(text),
                         lambda source: self._source_opened(token, text, source, seek_to, play),
                         failed)  # fmt: skip

    def _source_opened(self, token: int, text: str, opened, seek_to: int | None,
                       play: bool) -> None:  # fmt: skip
        if not self._current("open", token):
            opened.stop()
            return
        self.listener(Busy(None))
        self._stop_run()
        self.player = opened if self.options.player else None
        self.source = opened.source if self.options.player else opened
        self.source_text = text
        self.last_shown = None  # frame numbers now count in the new source
        if self.player is not None:
            if self.player.seekable and seek_to:
                self.player.seek(seek_to)
            if play:
                self.player.play()
        self.listener(SourceOpened(text, self.source))
        if self.player is not None:
            self.start()

    # -- the run --

    def start(self, sinks: tuple = ()) -> None:
        """Start the pipeline (source + detector + `sinks` + the outputs attached later)."""
        from ssd_rt.video.pipeline import Pipeline

        if self.source is None or self.detector is None or self.pipeline is not None:
            return
        self._ended_reported = False
        self.pipeline = Pipeline(self.source, self.detector, [*self.displays, *sinks],
                                 batch=self.options.batch, max_frames=self.options.max_frames,
                                 renders_itself=self.options.renders_itself).start()  # fmt: skip

    def _stop_run(self) -> None:
        """Stop and join the run (source, inference, sinks); its files are finished."""
        if self.pipeline is not None:
            self.pipeline.stop()  # closes every sink it has, the outputs too
            self._outputs_closed()
            self.pipeline = None
        elif self.source is not None:
            self.source.stop()
        self.source = self.player = None

    def stop(self) -> None:
        """End the run now (Ctrl-C, the window closed); the source is not reopened."""
        self._stop_run()
        self.source_text = None

    def tick(self) -> None:
        """Call now and then: reports the end of a run that ended by itself, once."""
        pipeline = self.pipeline
        if pipeline is not None and pipeline.done and not self._ended_reported:
            self._ended_reported = True
            self._outputs_closed()
            self.listener(RunEnded(pipeline.error))

    def accept(self, result: Result) -> bool:
        """A display is about to show `result`: False when it is stale (decoded before the latest
        seek, or from a run that was replaced); else it counts as displayed."""
        pipeline, player = self.pipeline, self.player
        if pipeline is None or (player is not None and result.frame.epoch < player.epoch):
            return False
        pipeline.stats.add_displayed(result.frame.captured_at)
        self.last_shown = result
        self.shown += 1
        return True

    # -- playback (player sessions) --

    @property
    def seekable(self) -> bool:
        return self.player is not None and self.player.seekable

    @property
    def playing(self) -> bool:
        return self.player.playing if self.player is not None else self.source is not None

    def _where(self) -> tuple[int | None, bool]:
        """(frame on screen for files, playing) to resume after a restart."""
        if self.source is None:
            return None, True
        return (self.on_screen() if self.seekable else None), self.playing

    def on_screen(self) -> int:
        """Index of the frame a display shows (the newest delivered before any is shown)."""
        shown = self.last_shown
        return shown.frame.index if shown is not None else max(self.player.position, 0)

    def toggle_play(self) -> None:
        if self.player is None:
            return
        if self.player.playing:
            self._pause_on_screen()
        else:
            self.player.play()

    def _pause_on_screen(self) -> None:
        """Pause on the frame on screen: frames decoded ahead of it are dropped (a seek to it),
        so the picture freezes where the user pressed and a step goes on from there."""
        self.player.pause()
        if self.player.seekable:
            self.player.seek(self.on_screen())

    def step(self) -> None:
        if self.seekable:
            if self.player.playing:
                self._pause_on_screen()
            self.player.step()

    def step_back(self) -> None:
        if self.seekable:
            self.player.pause()
            self.player.seek(max(self.on_screen() - 1, 0))

    def jump(self, seconds: float) -> None:
        if self.seekable:
            frames = round(seconds * (self.player.fps or 30.0))
            self.seek(max(self.on_screen() + frames, 0))

    def seek(self, index: int) -> None:
        if self.seekable:
            self.player.seek(index)

    def set_realtime(self, realtime: bool) -> None:
        if self.player is not None:
            self.player.realtime = realtime

    def configure(self, **changes) -> None:
        """New thresholds or class filter for the detector (ConfigError on a bad value); a
        paused player shows the change on the frame on screen.

        Thresholds carry over to the next model loaded; a class filter belongs to the model it
        was chosen for (another model may not have those names), so it does not. A rejected
        value is not kept."""
        thresholds = {k: v for k, v in changes.items() if k in ("conf", "iou")}
        if self.detector is None:  # no model yet: checked as Detector checks, kept for it
            from ssd_rt.config import PostprocessConfig

            merged = {**self.thresholds, **thresholds}
            PostprocessConfig(score_thresh=merged["conf"], iou_thresh=merged["iou"])
            self.thresholds.update(thresholds)
            return
        self.detector.configure(**changes)
        self.thresholds.update(thresholds)
        if self.player is not None and not self.player.playing:
            self.player.refresh()

    # -- outputs --

    def output_name(self, suffix: str, folder: Path) -> Path:
        """The video's name for its outputs (`clip-detections.mp4`); live ones a generic one."""
        stem = Path(self.source_text).stem if self.seekable else "ssd-rt-live"
        return folder / f"{stem}-detections{suffix}"

    def input_files(self) -> list[Path]:
        """The files the run reads (the video; the model): outputs must not replace them."""
        served = self.model_path is None or is_triton_url(self.model_path)
        files = [] if served else [Path(self.model_path)]
        if self.source_text is not None and Path(self.source_text).is_file():
            files.append(Path(self.source_text))
        return files

    def make_output(self, name: str, path: Path, *, overwrite: bool = True):
        """The file sink for output `name` ("recording" or "detections") writing `path`
        (created now, so a folder that cannot be written fails before the first frame)."""
        from ssd_rt.video.recorder import VideoRecorder
        from ssd_rt.video.sinks import JsonLinesWriter

        names = self.detector.class_names
        if name == "recording":
            source = self.source  # its name has no credentials (readers mask them)
            model = model_label(self.model_path) if self.model_path is not None else "ssd-rt"
            tags = {"title": f"ssd-rt: {source.name if source is not None else 'video'}",
                    "comment": f"detections by {model}"}  # fmt: skip
            return VideoRecorder(path, source.fps if source is not None else None, names,
                                 live=source is not None and source.live, overwrite=overwrite,
                                 metadata=tags)  # fmt: skip
        return JsonLinesWriter(path, names, overwrite=overwrite)

    def start_output(self, name: str, path: Path) -> None:
        """Write output `name` to `path` from the next frame on (the caller asked about an
        existing file: it is replaced). ConfigError when there is no run or no writable file."""
        from ssd_rt.files import check_not_input, check_output_path

        if self.pipeline is None or self.detector is None:
            raise ConfigError(f"no {name} yet: open a video, a camera or a stream first")
        check_output_path(path, name, suffixes=(OUTPUTS[name],), overwrite=True)
        check_not_input(path, self.input_files(), name)
        self.stop_output(name)
        try:
            sink = self.make_output(name, path)
        except OSError as err:
            raise ConfigError(f"cannot write {path}: {err.strerror}") from None
        self.outputs[name] = sink
        self.pipeline.add_sink(sink)

    def stop_output(self, name: str) -> None:
        """Detach output `name` and finish its file in the background (OutputClosed)."""
        sink = self.outputs.pop(name, None)
        if sink is None:
            return
        if self.pipeline is not None:
            self.pipeline.remove_sink(sink)
        def closed(error: str | None) -> None:
            self.listener(OutputClosed(name, sink.path, error))

        self.jobs.run(f"finish-{name}", sink.close, lambda _: closed(None), closed)

    def _outputs_closed(self) -> None:
        """The run ended (its pipeline closed every sink, the outputs too)."""
        for name, sink in list(self.outputs.items()):
            error = getattr(sink, "error", None)
            self.listener(OutputClosed(name, sink.path, None if error is None else one_line(error)))
        self.outputs.clear()

    # -- the end --

    def close(self) -> None:
        """Stop and join everything: the run, its files, the jobs still working."""
        self.closing = True
        self.stop()
        self.jobs.join(JOIN_S)
        if self.calls is not None:
            self.calls.run()  # finished jobs' results: backends they loaded are closed
        if self.detector is not None:
            self.detector.backend.close()
            self.detector = None

