"""Save the whole X screen of $DISPLAY as a PNG (Qt's xcb grab of the root window)."""

import sys

from PyQt6.QtGui import QGuiApplication

app = QGuiApplication(sys.argv[:1])
ok = app.primaryScreen().grabWindow(0).save(sys.argv[1])
sys.exit(0 if ok else 1)
