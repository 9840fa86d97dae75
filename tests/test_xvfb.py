"""Real windows on a real X server (Xvfb, Qt's xcb plugin): `ssd-rt` takes its windowed branch
and `ssd-rt-gui` opens its player; each window is grabbed from the screen while it plays and
the picture is checked. Every other Qt test runs offscreen; these are the ones that open a
window the way a desktop user does. Xvfb is a Debian package `make test` installs as root
(CI requires it: SSD_RT_REQUIRE); elsewhere these tests skip with the reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ssd_rt.data.synthetic import write_video

pytestmark = [
    pytest.mark.gui,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("xvfb-run") is None,
                       reason="needs Xvfb (Debian package xvfb; `make test` installs it as root)"),
]  # fmt: skip
GRAB = Path(__file__).parent / "tools" / "grab_screen.py"


def under_xvfb(tmp_path: Path, command: list, then: str, seconds: float = 2.0):
    """Run `command` in a fresh Xvfb with Qt's xcb plugin, grab the screen once a window has
    painted (after at least `seconds`, at most 60 s more), then run the shell line `then`
    ($pid: the command's process). Returns (the command's exit code, its stdout, its stderr,
    the screenshot as BGR)."""
    pytest.importorskip("PyQt6")
    quoted = " ".join(f"'{part}'" for part in map(str, command))
    script = (f"export QT_QPA_PLATFORM=xcb; {quoted} > {tmp_path}/out.txt "
              f"2> {tmp_path}/err.txt & pid=$!; sleep {seconds}; "
              f"{sys.executable} {GRAB} {tmp_path}/screen.png 60; {then}; wait $pid; "
              f"echo $? > {tmp_path}/rc")  # fmt: skip
    done = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "sh", "-c", script],
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert (tmp_path / "rc").exists(), done.stderr
    screen = cv2.imread(str(tmp_path / "screen.png"))
    assert screen is not None, f"no screenshot: {done.stderr}"
    return (int((tmp_path / "rc").read_text()), (tmp_path / "out.txt").read_text(),
            (tmp_path / "err.txt").read_text(), screen)  # fmt: skip


def painted_region(screen: np.ndarray) -> np.ndarray:
    """The part of the screen that is not the empty black root window."""
    rows = np.flatnonzero(screen.max(axis=(1, 2)) > 0)
    cols = np.flatnonzero(screen.max(axis=(0, 2)) > 0)
    assert len(rows) and len(cols), "the screen is black: no window was painted"
    return screen[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def test_ssd_rt_opens_its_window_on_a_real_x_server(tmp_path):
    command = [sys.executable, "-m", "ssd_rt.cli.run", "--source", "demo", "--model", "demo"]
    rc, out, err, screen = under_xvfb(tmp_path, command, then="kill -TERM $pid")
    assert rc == 143, err  # endless demo camera, ended by SIGTERM: the window closed, summary
    assert "no window" not in err and "running headless" not in err  # the windowed branch
    rendered = int(out.split(" rendered")[0].rsplit(", ", 1)[1])
    inferred = int(out.split(" frames in ")[0])
    assert 0 < rendered <= inferred  # frames the window painted, counted by the window
    window = painted_region(screen)
    assert window.shape[0] >= 300 and window.shape[1] >= 500  # the 960x540 default size
    assert window.std() > 20  # video, not a flat fill
    # The overlay the viewer paints: white text on a dark box, top left.
    assert (window[:60, :400] > 230).all(axis=2).sum() > 50


def test_the_player_opens_and_plays_on_a_real_x_server(tmp_path):
    video = write_video(tmp_path / "clip.mp4", 300, height=360, width=640)
    command = [sys.executable, "-m", "ssd_rt.cli.gui", video, "--model", "demo"]
    rc, _, err, screen = under_xvfb(tmp_path, command, then="kill -TERM $pid", seconds=4)
    assert rc == 143, err  # SIGTERM closes it like its close button
    assert "Traceback" not in err
    window = painted_region(screen)
    assert window.shape[0] >= 400 and window.shape[1] >= 600
    assert window.std() > 20
