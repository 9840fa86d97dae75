"""`ssd-rt-gui [FILE]`: the desktop video detection player.

    ssd-rt-gui                          # the window; open a file, camera or stream from it
    ssd-rt-gui clip.mp4                 # opens and plays clip.mp4
    ssd-rt-gui demo --model engines/my.engine --backend tensorrt

Without --model it runs the newest model in engines/, else the shipped demo model. A FILE that
cannot be opened is reported in the window; problems before there is a window (no PyQt6, no
display, bad arguments) are one line on stderr and exit code 1. Ctrl-C, SIGTERM and SIGHUP
close the window as its close button does (recordings finished) and exit with 128 + signal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ssd_rt.backends.base import BACKENDS
from ssd_rt.cli.common import OneLineParser, command_entry
from ssd_rt.cli.signals import StopSignals
from ssd_rt.errors import ConfigError, SSDRTError


class MissingPart(SSDRTError):
    """PyQt6 or a display is missing."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = OneLineParser(prog="ssd-rt-gui", description=__doc__.splitlines()[0])
    p.add_argument("source", nargs="?", help="video file (or camera index, stream URL, demo)")
    p.add_argument("--model", help="engine, ONNX or checkpoint, coco, or triton://HOST:PORT/NAME "
                   "(default: engines/)")  # fmt: skip
    p.add_argument("--backend", default="auto", choices=BACKENDS)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    return p.parse_args(argv)


def check_display() -> None:
    """One clear line instead of Qt's abort when no window can open here."""
    from gui.display import window_problem

    problem = window_problem()
    if problem is not None:
        raise MissingPart(f"{problem}: run it on a desktop or under xvfb-run; for runs "
                          "without a window use ssd-rt --headless")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with StopSignals() as stop:
        return _main(args, stop)


def _main(args: argparse.Namespace, stop: StopSignals) -> int:
    from ssd_rt.pretrained import MODEL_NAMES
    from ssd_rt.triton.url import is_triton_url

    model = Path(args.model) if args.model is not None else None
    if is_triton_url(args.model or ""):
        model = args.model  # served: a string (pathlib would collapse its "//")
    elif model is not None and args.model not in MODEL_NAMES and not model.exists():
        raise ConfigError(f"model not found: {args.model}")
    try:
        from PyQt6.QtCore import QSettings
        from PyQt6.QtWidgets import QApplication
    except ImportError as err:
        raise MissingPart(f"the GUI needs PyQt6 ({err}); pip install 'ssd-rt[gui]'") from None
    check_display()
    from gui.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ssd-rt")
    app.setOrganizationName("ssd-rt")
    window = MainWindow(settings=QSettings(), model=model, backend=args.backend,
                        device=args.device)  # fmt: skip
    if args.source:
        window.session.open(args.source)
    stop.running()
    _close_on_signal(window, stop)
    window.show()
    app.exec()
    return stop.exit_code(0)


def _close_on_signal(window, stop: StopSignals) -> None:
    """Ctrl-C, SIGTERM or SIGHUP close the window like its close button, which finishes the
    recordings (a Python exception inside the Qt event loop would abort instead); the timer
    gives Python the moments it needs to run the handler, and looks at what it set."""
    from PyQt6.QtCore import QTimer

    timer = QTimer(window)
    timer.timeout.connect(lambda: window.close() if stop.event.is_set() else None)
    timer.start(200)


def entry() -> None:
    command_entry("ssd-rt-gui", main)


if __name__ == "__main__":
    entry()
