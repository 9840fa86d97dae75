"""The player in a real window: frames painted per second against frames inferred, same run.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python benchmarks/player_window.py \
        [--seconds 12] [--load 0]

Opens `ssd-rt-gui`'s MainWindow on Qt's xcb plugin (a desktop, or Xvfb as above), plays a
generated 25 fps 1280x720 file at the file's rate with the shipped demo model, and prints every
2 s the displayed FPS, the inference FPS (the baseline: what the window could show at most),
their ratio and the capture-to-render latency. `--load N` starts N busy-loop processes for the
run (a loaded machine: the window's thread and the X server compete for the cores). At the end
it prints, for the run after a warm-up, the share of inferred frames the window painted, and
exits 1 below 0.9.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

from ssd_rt.data.synthetic import write_video
from ssd_rt.machine import describe_cpu
from ssd_rt.model_search import DEMO_MODEL

WARMUP_S = 4.0  # model load and the first batches are not counted
TARGET = 0.9  # painted / inferred: the window shows what inference delivers


def busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--load", type=int, default=0, help="busy-loop processes during the run")
    args = parser.parse_args()
    from PyQt6.QtCore import QSettings, QTimer
    from PyQt6.QtWidgets import QApplication

    from gui.window import MainWindow

    print(describe_cpu())
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(Path(tmp) / "p720.mp4", 400, height=720, width=1280, fps=25.0)
        app = QApplication(sys.argv[:1])
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, model=DEMO_MODEL)
        window.resize(1280, 800)
        window.show()
        window.session.open(str(video))
        loads = [multiprocessing.Process(target=busy, args=(args.seconds,))
                 for _ in range(args.load)]  # fmt: skip
        for process in loads:
            process.start()
        print(f"25 fps 1280x720 file at its rate, demo model, {args.load} busy processes")
        started = time.perf_counter()

        def report() -> None:
            pipeline = window.session.pipeline
            if pipeline is None:
                return
            snap = pipeline.stats.snapshot()
            ratio = snap.display_fps / snap.inference_fps if snap.inference_fps else 0.0
            print(f"  {time.perf_counter() - started:5.1f} s: display {snap.display_fps:5.1f} "
                  f"FPS, inference {snap.inference_fps:5.1f} FPS (display / inference "
                  f"{ratio:.2f}), latency {snap.latency_ms:4.0f} ms", flush=True)  # fmt: skip

        marks = []  # (seconds, frames inferred, frames displayed) after the warm-up, at the end

        def mark() -> None:
            snap = window.session.pipeline.stats.snapshot()
            marks.append((time.perf_counter(), snap.frames, snap.displayed))

        timer = QTimer()
        timer.timeout.connect(report)
        timer.start(2000)
        QTimer.singleShot(int(WARMUP_S * 1000), mark)
        QTimer.singleShot(int(args.seconds * 1000), lambda: (mark(), app.quit()))
        app.exec()
        window.session.close()
        for process in loads:
            process.join()
    return summary(marks)


def summary(marks: list[tuple[float, int, int]]) -> int:
    """After the warm-up: frames inferred per second against the file's 25, and the share of
    inferred frames the window painted (the target: at least TARGET of them)."""
    (t0, inferred0, shown0), (t1, inferred1, shown1) = marks
    inferred, shown = inferred1 - inferred0, shown1 - shown0
    share = shown / inferred if inferred else 0.0
    print(f"after {WARMUP_S:g} s: {inferred / (t1 - t0):.1f} frames/s inferred (file: 25), "
          f"{shown / (t1 - t0):.1f} painted; painted / inferred {share:.2f} (target >= "
          f"{TARGET:.2f}: {'met' if share >= TARGET else 'NOT met'})")  # fmt: skip
    return 0 if share >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
