"""`ssd-rt`: live detection on a camera, a video file, a stream, an image folder or the demo.

    ssd-rt --source 0|video.mp4|rtsp://host/path|http://...|folder/|'*.jpg'|demo
           [--model PATH] [--backend auto|tensorrt|onnxruntime|torch] [--conf 0.4] [--iou 0.45]
           [--classes NAMES] [--record OUT.mp4|.mkv] [--json-out OUT.jsonl] [--headless]
           [--max-frames N] [--batch N] [--overwrite]

With a display it opens the viewer window; without one (or with --headless) it runs headless
and prints a live status line. The run ends at the end of a file, at --max-frames, on Ctrl-C,
SIGTERM or SIGHUP, or when the window closes; every way finishes the files and prints a summary
(frame rates, per-stage ms, latency, drops); a signal exits with 128 + its number.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ssd_rt.backends.base import BACKENDS
from ssd_rt.cli.common import (
    OneLineParser,
    comma_separated,
    command_entry,
    finite_float,
    positive_int,
)
from ssd_rt.cli.signals import StopSignals
from ssd_rt.errors import ConfigError, error_line
from ssd_rt.files import check_not_input, check_output_path
from ssd_rt.pretrained import add_weights_option
from ssd_rt.redact import mask_credentials

STATUS_EVERY_S = 2.0  # headless live status line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = OneLineParser(prog="ssd-rt", description=__doc__.splitlines()[0])
    p.add_argument(
        "--source",
        required=True,
        help="camera index, video file, stream URL, image folder or glob, or demo",
    )
    p.add_argument(
        "--model",
        help="engine, ONNX or checkpoint, or coco (torchvision's COCO SSD300; default: newest "
        "in engines/, else the shipped demo model)",
    )
    add_weights_option(p)
    p.add_argument(
        "--backend", default="auto", choices=BACKENDS
    )
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--conf", type=finite_float, default=0.4, help="score threshold (default 0.4)")
    p.add_argument(
        "--iou", type=finite_float, default=0.45, help="NMS IoU threshold (default 0.45)"
    )
    p.add_argument("--classes", help="comma-separated class names to show (default: all)")
    p.add_argument(
        "--record", type=Path, help="write the annotated video (H.264) to OUT.mp4 or OUT.mkv"
    )
    p.add_argument("--json-out", type=Path, help="write detections per frame to OUT.jsonl")
    p.add_argument("--overwrite", action="store_true", help="replace existing --record/--json-out")
    p.add_argument("--headless", action="store_true", help="no window, even with a display")
    p.add_argument("--max-frames", type=positive_int, help="stop after N frames")
    p.add_argument(
        "--batch",
        type=positive_int,
        default=4,
        help="frames per inference for files and folders (default 4)",
    )
    p.add_argument(
        "--reconnect-s",
        type=finite_float,
        default=30.0,
        help="how long a dropped stream may go without a frame before the run ends (default 30 s)",
    )
    p.add_argument(
        "--demo-mode",
        choices=("live", "file"),
        default="live",
        help="demo source paced like a camera (live) or every frame (file)",
    )
    return p.parse_args(argv)


def window_problem() -> str | None:
    """None when the viewer window can open, else why not: ssd-rt then runs headless."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform in ("offscreen", "minimal"):
        return f"QT_QPA_PLATFORM={platform} shows no window"
    from gui.display import window_problem as qt_window_problem  # imports no Qt

    return qt_window_problem()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with StopSignals() as stop:  # before any work: SIGTERM now is one line, not a traceback
        return _main(args, stop)


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path, before any work: suffix, folder, existing file, not an input."""
    inputs = [Path(args.source)] if Path(args.source).is_file() else []
    if args.model is not None and Path(args.model).is_file():
        inputs.append(Path(args.model))
    outputs = [(args.record, "--record", (".mp4", ".mkv")),
               (args.json_out, "--json-out", (".jsonl", ".json"))]  # fmt: skip
    for path, what, suffixes in outputs:
        if path is not None:
            check_output_path(path, what, suffixes=suffixes, overwrite=args.overwrite)
            check_not_input(path, inputs, what)
    if args.record is not None and args.json_out is not None:
        check_not_input(args.record, [args.json_out], "--record")


def _main(args: argparse.Namespace, stop: StopSignals) -> int:
    from ssd_rt.config import PostprocessConfig

    PostprocessConfig(score_thresh=args.conf, iou_thresh=args.iou)  # ranges, before any work
    if args.reconnect_s < 0:
        raise ConfigError(f"--reconnect-s must be 0 or more, got {args.reconnect_s}")
    _check_outputs(args)
    classes = comma_separated(args.classes) if args.classes else None
    if args.classes is not None and not classes:
        raise ConfigError("--classes is empty; give class names separated by commas")

    from ssd_rt.model_search import default_model
    from ssd_rt.pretrained import resolve_model
    from ssd_rt.video.session import RunSession, SessionOptions

    model = resolve_model(args.model, args.weights) if args.model else default_model()
    viewer_class = _viewer_class(args.headless)
    options = SessionOptions(
        device=args.device,
        batch=args.batch,
        max_frames=args.max_frames,
        renders_itself=viewer_class is not None,
        demo_live=args.demo_mode == "live",
        reconnect_s=args.reconnect_s,
    )
    session = RunSession(options, listener=lambda event: None, conf=args.conf, iou=args.iou,
                         classes=classes)  # fmt: skip
    try:
        session.load_model_now(model, args.backend)
        detector = session.detector
        print(f"model {mask_credentials(str(model))} on {detector.backend.describe()}; classes: "
              f"{', '.join(detector.class_names)}", file=sys.stderr)  # fmt: skip
        session.open_now(args.source)
        return _run(args, session, viewer_class, stop)
    finally:
        session.close()


def _viewer_class(headless: bool):
    """gui.viewer.Viewer when a window can open here, else None (and why, on stderr)."""
    if headless:
        return None
    if (problem := window_problem()) is not None:
        print(f"ssd-rt: no window ({problem}); running headless", file=sys.stderr)
        return None
    try:
        from gui.viewer import Viewer
    except ImportError as err:
        print(f"ssd-rt: no window ({err}; pip install 'ssd-rt[gui]'); running headless",
              file=sys.stderr)  # fmt: skip
        return None
    return Viewer


def _run(args: argparse.Namespace, session, viewer_class, stop: StopSignals) -> int:
    source, names = session.source, session.detector.class_names
    viewer = viewer_class(names) if viewer_class is not None else None
    stop.running()  # from here a signal ends the run the normal way: files finished, summary
    sinks = []
    try:
        for name, path in (("recording", args.record), ("detections", args.json_out)):
            if path is not None:
                sinks.append(session.make_output(name, path, overwrite=args.overwrite))
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    if viewer is not None:
        session.displays = (viewer.results,)
    print(f"source {source.name} ({'live: newest frame only' if source.live else 'every frame'})"
          + (f" at {source.fps:.1f} FPS" if source.fps else ""), file=sys.stderr)  # fmt: skip
    session.start(sinks)
    pipeline = session.pipeline
    try:
        if viewer is not None:
            viewer.run(session, stop=stop.event)
        else:
            _status_lines(pipeline, stop.event)
    finally:
        pipeline.stop()  # joins the threads; every file sink is finished (or failed) now
    return _report(pipeline, source, sinks, stop)


def _report(pipeline, source, sinks: list, stop: StopSignals) -> int:
    """The summary, the files written whole, one line per failure; the exit code."""
    if stop.name is not None:
        print(f"ssd-rt: stopped ({stop.name})", file=sys.stderr)
    for line in pipeline.stats.summary():
        print(line)
    if source.end_report and not pipeline.stopped_by_user and pipeline.error is None:
        print(f"ssd-rt: warning: {source.end_report}", file=sys.stderr)
    for sink in sinks:
        if sink.done:
            print(f"wrote {sink.path} ({sink.frames} frames)")
    # The pipeline holds the first failure (a sink's too); other outputs that failed as well
    # are said here, each once. The first goes through run_command like every error.
    first = error_line(pipeline.error) if pipeline.error is not None else None
    others = dict.fromkeys(error_line(s.error) for s in sinks if s.error is not None)
    for line in others:
        if line != first:
            print(f"ssd-rt: error: {line}", file=sys.stderr)
    if pipeline.error is not None:
        raise pipeline.error
    return stop.exit_code(0)


def _status_lines(pipeline, stop) -> None:
    from ssd_rt.video.stats import stats_lines

    last = time.perf_counter()
    while not pipeline.wait(0.2) and not stop.is_set():
        now = time.perf_counter()
        if now - last >= STATUS_EVERY_S:
            last = now
            snapshot = pipeline.stats.snapshot()
            line = " | ".join(stats_lines(snapshot, frames=True, wait=True))
            print(line, file=sys.stderr, flush=True)


def entry() -> None:
    command_entry("ssd-rt", main)


if __name__ == "__main__":
    entry()
