"""The player's recent files, kept in QSettings (newest first, at most RECENT_MAX)."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSettings

RECENT_MAX = 8


class RecentFiles:
    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def remember(self, path: str) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.paths() if p != path]
        self.settings.setValue("recent", recent[:RECENT_MAX])

    def last_folder(self) -> str:
        """The folder of the newest recent file (where dialogs open), else the working one."""
        recent = self.paths()
        return str(Path(recent[0]).parent) if recent else str(Path.cwd())
