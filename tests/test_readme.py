"""The README's Python example runs as written (on a generated street.jpg)."""

import re
import subprocess
import sys
from pathlib import Path

import cv2

from ssd_rt.data.synthetic import random_scene

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    cv2.imwrite(str(tmp_path / "street.jpg"), random_scene(1, 480, 640))
    script = tmp_path / "example.py"
    script.write_text(blocks[0] + "\nassert dets.boxes_xyxy.shape[1] == 4\nprint(len(dets))\n")
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 0
