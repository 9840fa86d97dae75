"""ssd-rt desktop GUI (PyQt6): the video detection player (`ssd-rt-gui`)."""
