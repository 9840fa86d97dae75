"""Screenshot of the main window playing the demo video with detections (for the README).

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m gui.screenshot docs/gui.png [MODEL]

Writes a generated-scenes video to a temporary folder, opens it in `MainWindow` with the shipped
demo model, plays about two seconds and saves the whole window (menus, toolbar, video with
boxes, controls, chart, status bar) as a PNG. Works offscreen or under xvfb-run.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PyQt6.QtCore import QSettings
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication

from gui.window import MainWindow
from ssd_rt.data.synthetic import write_video
from ssd_rt.model_search import DEMO_MODEL

PLAY_S = 2.0


def wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not show frames in time")
        QTest.qWait(20)


def main(out: Path, model: Path = DEMO_MODEL) -> None:
    app = QApplication.instance() or QApplication([])  # noqa: F841 (keeps Qt alive)
    with tempfile.TemporaryDirectory() as folder:
        video = write_video(Path(folder) / "demo-scenes.mp4", 150, seed=11, height=540,
                            width=960)  # fmt: skip
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, model=model,
                            backend="onnxruntime", device="cpu")  # fmt: skip
        window.resize(1280, 720)
        window.show()
        window.session.open(str(video))
        wait_for(lambda: window.session.shown > 0, 180)  # "coco" may convert first
        QTest.qWait(int(PLAY_S * 1000))
        window.toggle_play()
        QTest.qWait(300)
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out), "PNG")
        window.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/gui.png"),
         *(Path(a) for a in sys.argv[2:3]))  # fmt: skip
