"""Save the X screen of $DISPLAY as a PNG once a window has painted something (Qt's xcb
grab of the root window): polls up to `timeout` seconds, so a slow start is waited for; exits 1
when the screen stays black."""

import sys
import time

from PyQt6.QtGui import QGuiApplication

path, timeout = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
app = QGuiApplication(sys.argv[:1])
deadline = time.monotonic() + timeout
while True:
    image = app.primaryScreen().grabWindow(0).toImage()
    small = image.scaled(64, 40)  # enough to tell a black screen from a painted one
    painted = any(small.pixelColor(x, y).value() > 0 for x in range(64) for y in range(40))
    if painted or time.monotonic() > deadline:
        break
    time.sleep(0.5)
time.sleep(1.0 if painted else 0)  # a few more frames: the window is playing, not starting
ok = app.primaryScreen().grabWindow(0).save(path)
sys.exit(0 if ok and painted else 1)
