"""Can a Qt window open here? Asked before QApplication exists, because Qt answers "no" by
aborting the process (SIGABRT, exit 134) with a page of plugin text, for `ssd-rt` and
`ssd-rt-gui` alike.

On Linux, unless the user chose a Qt platform or a Wayland compositor answers, Qt uses its xcb
plugin, which fails in two common ways:
- DISPLAY names an X server that is not there (a stale ssh -X session, a stopped Xvfb);
- the plugin's system libraries are missing: Qt 6.5+ needs libxcb-cursor0, and minimal images
  lack libxcb-icccm4, libxcb-keysyms1 and others. Ubuntu desktops without libxcb-cursor0 are the
  most common case.
Both are found here without importing Qt, and come back as one sentence.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

X_TCP_BASE_PORT = 6000  # X display N listens on TCP 6000 + N (ssh -X forwards to 6010 and up)
CONNECT_TIMEOUT_S = 1.0


def window_problem() -> str | None:
    """None when a Qt window can open, else why not (one phrase, no trailing period)."""
    if not sys.platform.startswith("linux"):
        return None
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and platform.split(":")[0] != "xcb":
        return None  # offscreen, wayland, eglfs...: the user chose, and Qt reports for those
    wayland = os.environ.get("WAYLAND_DISPLAY", "")
    if not platform and wayland and wayland_reachable(wayland):
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        return "no display found (DISPLAY is not set)"
    if not x_display_reachable(display):
        return f"no X server answers on DISPLAY={display}"
    missing = missing_xcb_libraries()
    if missing:
        packages = " ".join(debian_package(name) for name in missing)
        return (
            f"Qt's X11 plugin needs {', '.join(missing)}, which this system lacks "
            f"(Debian/Ubuntu: sudo apt install {packages})"
        )
    return None


def wayland_reachable(name: str) -> bool:
    runtime_dir = Path(os.environ.get("XDG_RUNTIME_DIR", "/"))
    return _unix_connects(str(Path(name) if name.startswith("/") else runtime_dir / name))


def x_display_reachable(display: str) -> bool:
    """Whether an X server listens where DISPLAY ("[host]:N[.screen]") points."""
    match = re.fullmatch(r"(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?", display)
    if match is None:
        return False
    host, number = match["host"], int(match["number"])
    if host in ("", "unix"):
        socket_path = f"/tmp/.X11-unix/X{number}"
        # Linux X servers listen on the abstract name and on the file; either will do.
        if _unix_connects("\0" + socket_path) or _unix_connects(socket_path):
            return True
        if host == "unix":
            return False
        host = "localhost"  # libxcb falls back to TCP for ":N" when no socket answers
    try:
        with socket.create_connection((host, X_TCP_BASE_PORT + number), CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def _unix_connects(address: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect(address)
        except OSError:
            return False
    return True


def xcb_plugin_path() -> Path | None:
    spec = importlib.util.find_spec("PyQt6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(spec.submodule_search_locations[0]) / "Qt6/plugins/platforms/libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_xcb_libraries() -> list[str]:
    """System libraries Qt's xcb plugin needs and cannot find, e.g. ["libxcb-cursor.so.0"]."""
    missing = []
    # Qt 6.5+ opens libxcb-cursor at run time rather than linking it, so ldd does not list it.
    if ctypes.util.find_library("xcb-cursor") is None:
        missing.append("libxcb-cursor.so.0")
    plugin = xcb_plugin_path()
    if plugin is not None and shutil.which("ldd"):
        listing = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
        for name in re.findall(r"^\s*(\S+) => not found", listing, flags=re.MULTILINE):
            if name not in missing:
                missing.append(name)
    return missing


def debian_package(library: str) -> str:
    """libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0."""
    match = re.fullmatch(r"(lib.+?)\.so\.(\d+).*", library)
    if match is None:
        return library
    stem, major = match.groups()
    return f"{stem}-{major}" if stem[-1].isdigit() else f"{stem}{major}"
