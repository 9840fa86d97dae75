"""The player's actions, menus and toolbar: what each key and menu entry asks the window for.

Actions are added to the window itself, so their shortcuts work in full screen too (menus
hidden or not). Each one only calls a window or session method; nothing here holds state.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QLabel

from ssd_rt.redact import mask_credentials

SEEK_S = 5.0  # Shift+arrow jump


@dataclass(frozen=True)
class Actions:
    open: QAction
    stream: QAction
    demo: QAction
    model: QAction
    quit: QAction
    play: QAction
    step: QAction
    back: QAction
    forward_jump: QAction
    back_jump: QAction
    record: QAction
    json: QAction
    snapshot: QAction
    fullscreen: QAction

    def output(self, name: str) -> QAction:
        """The checkable action of session output `name` ("recording", "detections")."""
        return {"recording": self.record, "detections": self.json}[name]


def _action(window, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def build_actions(window) -> Actions:
    """The actions of `window` (a gui.window.MainWindow), in its menus and toolbar."""
    key, session = QKeySequence, window.session
    a = Actions(
        open=_action(window, "&Open video…", window.ask_open_file, key.StandardKey.Open),
        stream=_action(window, "Open &stream URL…", window.ask_open_stream, key("Ctrl+U")),
        demo=_action(window, "Open &demo scenes", lambda: session.open("demo")),
        model=_action(window, "Choose &model…", window.ask_model, key("Ctrl+M")),
        quit=_action(window, "&Quit", window.close, [key("Q"), key("Ctrl+Q")]),
        play=_action(window, "Play / pause", window.toggle_play, key("Space")),
        step=_action(window, "Step one frame", session.step, key("Right")),
        back=_action(window, "Back one frame", session.step_back, key("Left")),
        forward_jump=_action(window, f"Forward {SEEK_S:g} s", lambda: session.jump(SEEK_S),
                             key("Shift+Right")),
        back_jump=_action(window, f"Back {SEEK_S:g} s", lambda: session.jump(-SEEK_S),
                          key("Shift+Left")),
        record=_action(window, "&Record video…", lambda on: window.toggle_output("recording", on),
                       key("Ctrl+R"), checkable=True),
        json=_action(window, "Export detections (&JSON lines)…",
                     lambda on: window.toggle_output("detections", on), key("Ctrl+J"),
                     checkable=True),
        snapshot=_action(window, "Save &snapshot…", window.ask_snapshot, key.StandardKey.Save),
        fullscreen=_action(window, "&Full screen", window.toggle_fullscreen, key("F"),
                           checkable=True),
    )
    _menus(window, a)
    _toolbar(window, a)
    return a


def _menus(window, a: Actions) -> None:
    menus = window.menuBar()
    file_menu = menus.addMenu("&File")
    file_menu.addAction(a.open)
    window.recent_menu = file_menu.addMenu("Open &recent")
    window.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(window))
    window.camera_menu = file_menu.addMenu("Open &camera")
    window.camera_menu.aboutToShow.connect(lambda: fill_camera_menu(window))
    for action in (a.stream, a.demo, None, a.model, None, a.quit):
        file_menu.addSeparator() if action is None else file_menu.addAction(action)
    play_menu = menus.addMenu("&Playback")
    for action in (a.play, a.step, a.back, a.forward_jump, a.back_jump):
        play_menu.addAction(action)
    output_menu = menus.addMenu("&Output")
    for action in (a.record, a.json, a.snapshot):
        output_menu.addAction(action)
    view_menu = menus.addMenu("&View")
    view_menu.addAction(a.fullscreen)
    view_menu.addAction(window.dock.toggleViewAction())


def _toolbar(window, a: Actions) -> None:
    tools = window.addToolBar("Main")
    tools.setObjectName("main-toolbar")
    for action in (a.open, a.play, a.step, a.record, a.snapshot):
        tools.addAction(action)
    tools.addSeparator()
    tools.addWidget(QLabel(" model "))
    tools.addWidget(window.model_box)
    tools.addWidget(QLabel(" backend "))
    tools.addWidget(window.backend_box)


def _fill(window, menu, entries: list[tuple[str, str]], empty: str) -> None:
    """`entries`: (text, source to open) pairs; `empty`: the one disabled entry otherwise."""
    menu.clear()
    for text, target in entries:
        menu.addAction(text).triggered.connect(lambda _=False, t=target: window.session.open(t))
    if menu.isEmpty():
        menu.addAction(empty).setEnabled(False)


def fill_recent_menu(window) -> None:
    entries = [(mask_credentials(p), p) for p in window.recent.paths()]  # shown masked
    _fill(window, window.recent_menu, entries, "(none yet)")


def fill_camera_menu(window) -> None:
    from ssd_rt.video.readers import find_cameras

    cameras = [(f"Camera {i}", str(i)) for i in find_cameras()]
    _fill(window, window.camera_menu, cameras, "(no cameras found)")
