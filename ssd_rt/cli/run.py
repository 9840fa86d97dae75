"""`ssd-rt`: live detection on a camera, a video file, a stream, an image folder or the demo.

    ssd-rt --source 0|video.mp4|rtsp://host/path|http://...|folder/|'*.jpg'|demo
           [--model PATH] [--backend auto|tensorrt|onnxruntime|torch] [--conf 0.4] [--iou 0.45]
           [--classes NAMES] [--record OUT.mp4] [--json-out OUT.jsonl] [--headless]
           [--max-frames N] [--batch N] [--overwrite]

With a display it opens the viewer window; without one (or with --headless) it runs headless
and prints a live status line. The run ends at the end of a file, at --max-frames, on Ctrl-C or
when the window closes; it then prints a summary (frame rates, per-stage ms, latency, drops).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from ssd_rt.cli.common import OneLineParser, comma_separated, positive_int, run_command
from ssd_rt.errors import ConfigError
from ssd_rt.files import check_output_path
from ssd_rt.pretrained import add_weights_option

STATUS_EVERY_S = 2.0  # headless live status line


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


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
        "--backend", default="auto", choices=("auto", "tensorrt", "onnxruntime", "torch")
    )
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--conf", type=_number, default=0.4, help="score threshold (default 0.4)")
    p.add_argument("--iou", type=_number, default=0.45, help="NMS IoU threshold (default 0.45)")
    p.add_argument("--classes", help="comma-separated class names to show (default: all)")
    p.add_argument("--record", type=Path, help="write the annotated video to OUT.mp4")
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
        type=_number,
        default=30.0,
        help="how long a dropped stream is retried (default 30 s)",
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
    from ssd_rt.config import PostprocessConfig

    PostprocessConfig(score_thresh=args.conf, iou_thresh=args.iou)  # ranges, before any work
    if args.reconnect_s < 0:
        raise ConfigError(f"--reconnect-s must be 0 or more, got {args.reconnect_s}")
    for path, what, suffixes in ((args.record, "--record", (".mp4",)),
                                 (args.json_out, "--json-out", (".jsonl", ".json"))):  # fmt: skip
        if path is not None:
            check_output_path(path, what, suffixes=suffixes, overwrite=args.overwrite)
    classes = comma_separated(args.classes) if args.classes else None
    if args.classes is not None and not classes:
        raise ConfigError("--classes is empty; give class names separated by commas")

    from ssd_rt.model_search import default_model
    from ssd_rt.pretrained import resolve_model
    from ssd_rt.video.session import RunSession, SessionOptions

    model = resolve_model(args.model, args.weights) if args.model else default_model()
    viewer_class = _viewer_class(args.headless)
    options = SessionOptions(device=args.device, batch=args.batch, max_frames=args.max_frames,
                             renders_itself=viewer_class is not None,
                             demo_live=args.demo_mode == "live", reconnect_s=args.reconnect_s)
    session = RunSession(options, listener=lambda event: None, conf=args.conf, iou=args.iou,
                         classes=classes)  # fmt: skip
    try:
        session.load_model_now(model, args.backend)
        detector = session.detector
        print(f"model {model} on {detector.backend.describe()}; classes: "
              f"{', '.join(detector.class_names)}", file=sys.stderr)  # fmt: skip
        session.open_now(args.source)
        return _run(args, session, viewer_class)
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


def _run(args: argparse.Namespace, session, viewer_class) -> int:
    source, names = session.source, session.detector.class_names
    viewer = viewer_class(names) if viewer_class is not None else None
    sinks = []
    try:
        for name, path in (("recording", args.record), ("detections", args.json_out)):
            if path is not None:
                sinks.append(session.make_output(name, path))
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
    interrupted = False
    try:
        if viewer is not None:
            viewer.run(session)
        else:
            interrupted = _wait_headless(pipeline)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        pipeline.stop()
    if interrupted:
        print("ssd-rt: stopped (Ctrl-C)", file=sys.stderr)
    for line in pipeline.stats.summary():
        print(line)
    if source.end_report:
        print(f"ssd-rt: warning: {source.end_report}", file=sys.stderr)
    for path in (args.record, args.json_out):
        if path is not None and path.exists():
            print(f"wrote {path}")
    if pipeline.error is not None:  # an SSDRTError is printed as one line by run_command
        raise pipeline.error
    return 0


def _wait_headless(pipeline) -> bool:
    """Status lines until the run ends; True when Ctrl-C ended it.

    Ctrl-C sets a flag this loop reads instead of raising KeyboardInterrupt wherever the main
    thread happens to be: raised inside threading's Event.wait it could leave the run unable to
    stop (a CI run hung 30 s after SIGINT). A second Ctrl-C while the files are finished is
    ignored rather than aborting them; the previous handler is restored afterwards.
    """
    import signal
    import threading

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        _status_lines(pipeline, stop)
    finally:
        if stop.is_set():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # finishing the files: not again
        else:
            signal.signal(signal.SIGINT, previous)
    return stop.is_set()


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
    logging.basicConfig(level=logging.WARNING, format="ssd-rt: %(message)s")
    sys.exit(run_command("ssd-rt", main))


if __name__ == "__main__":
    entry()
