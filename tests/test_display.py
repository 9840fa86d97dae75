"""Whether a Qt window can open, decided before Qt would abort: real sockets stand in for X
servers (loopback and Linux abstract sockets only), and the plugin check is compared with ldd."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from gui.display import (
    X_TCP_BASE_PORT,
    debian_package,
    missing_xcb_libraries,
    window_problem,
    x_display_reachable,
    xcb_plugin_path,
)

ROOT = Path(__file__).resolve().parents[1]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 checks: Linux")


def free_display_number() -> int:
    for number in range(90, 200):
        if not x_display_reachable(f":{number}"):
            return number
    pytest.skip("no free X display number in 90..199")


@contextmanager
def listening_x_socket(number: int):
    """Something that accepts connections where X display :number would (abstract socket)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(f"\0/tmp/.X11-unix/X{number}")
        server.listen(8)
        yield


@pytest.fixture
def x_environment(monkeypatch):
    """Qt would pick its xcb plugin: no platform chosen, no Wayland."""
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return monkeypatch


@linux_only
def test_an_x_display_is_reachable_only_while_something_listens():
    number = free_display_number()
    assert not x_display_reachable(f":{number}")
    with listening_x_socket(number):
        assert x_display_reachable(f":{number}")
        assert x_display_reachable(f":{number}.0")
        assert x_display_reachable(f"unix:{number}")
    assert not x_display_reachable(f":{number}")
    assert not x_display_reachable("not a display")


@linux_only
def test_an_x_display_over_tcp_is_reachable_while_its_port_listens():
    with socket.socket() as server:
        try:
            server.bind(("127.0.0.1", X_TCP_BASE_PORT + 95))
        except OSError:
            pytest.skip("TCP port 6095 is taken")
        assert not x_display_reachable("127.0.0.1:95")
        server.listen(1)
        assert x_display_reachable("127.0.0.1:95")  # what ssh -X sets, on loopback


@linux_only
def test_window_problem_names_what_is_missing(x_environment):
    number = free_display_number()
    x_environment.delenv("DISPLAY", raising=False)
    assert window_problem() == "no display found (DISPLAY is not set)"
    x_environment.setenv("DISPLAY", f":{number}")
    assert window_problem() == f"no X server answers on DISPLAY=:{number}"
    with listening_x_socket(number):
        problem = window_problem()
    missing = missing_xcb_libraries()
    if missing:
        assert problem.startswith(f"Qt's X11 plugin needs {missing[0]}")
        assert "sudo apt install " + " ".join(map(debian_package, missing)) in problem
    else:
        assert problem is None
    x_environment.setenv("QT_QPA_PLATFORM", "offscreen")  # the user's choice, never questioned
    assert window_problem() is None


@linux_only
@pytest.mark.parametrize("missing", [["libxcb-cursor.so.0", "libxcb-icccm.so.4"], []])
def test_both_branches_of_the_library_check(x_environment, missing):
    """Whatever this host has installed, both answers are checked: the probe is replaced."""
    import gui.display

    number = free_display_number()
    x_environment.setenv("DISPLAY", f":{number}")
    x_environment.setattr(gui.display, "missing_xcb_libraries", lambda: list(missing))
    with listening_x_socket(number):
        problem = window_problem()
    if missing:
        assert problem == (
            "Qt's X11 plugin needs libxcb-cursor.so.0, libxcb-icccm.so.4, which this system "
            "lacks (Debian/Ubuntu: sudo apt install libxcb-cursor0 libxcb-icccm4)"
        )
    else:
        assert problem is None


@linux_only
def test_missing_xcb_libraries_agree_with_ldd():
    plugin = xcb_plugin_path()
    if plugin is None or shutil.which("ldd") is None:
        pytest.skip("needs PyQt6's xcb plugin and ldd")
    listing = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    not_found = {line.split()[0] for line in listing.splitlines() if "=> not found" in line}
    assert not_found <= set(missing_xcb_libraries())


def test_debian_package_names():
    assert debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"


def run_entry(module: str, *args: str, display: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = display
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)  # fmt: skip


@linux_only
def test_ssd_rt_gui_without_a_usable_display_is_one_line_not_an_abort():
    pytest.importorskip("PyQt6", reason="needs the gui extra")
    number = free_display_number()
    run = run_entry("ssd_rt.cli.gui", display=f":{number}")
    assert run.returncode == 1 and run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(f"ssd-rt-gui: error: no X server answers on DISPLAY=:{number}")
    if not missing_xcb_libraries():
        return  # a real Qt would now talk to our fake server and wait: nothing more to show
    with listening_x_socket(number):
        run = run_entry("ssd_rt.cli.gui", display=f":{number}")
    assert run.returncode == 1 and run.stderr.count("\n") == 1, run.stderr
    assert "Qt's X11 plugin needs" in run.stderr and "sudo apt install" in run.stderr


@linux_only
def test_ssd_rt_with_a_dead_display_runs_headless():
    run = run_entry("ssd_rt.cli.run", "--source", "demo", "--max-frames", "5",
                    display=f":{free_display_number()}")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "no window (no X server answers on DISPLAY=:" in run.stderr
    assert "running headless" in run.stderr and "Traceback" not in run.stderr
