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
    # The example's own objects are checked, not only that it ran: shapes, the frame's size,
    # and (random weights detect nothing at 0.4) a low threshold's boxes inside the frame.
    checks = """
assert images.shape == (1, 3, 300, 300) and sizes == [(640, 480)]
assert loc.shape == (1, 8732, 4) and logits.shape == (1, 8732, 21)
assert len(dets) == int((dets.scores >= 0.4).sum())
low = postprocess(loc, logits, default_boxes(config.priors), score_thresh=0.01)[0]
low = low.to_pixels(*sizes[0])
assert len(low) > 0 and low.labels.min() >= 1 and low.labels.max() <= 20
assert (low.boxes_xyxy >= 0).all() and (low.boxes_xyxy[:, 0::2] <= 640).all()
assert (low.boxes_xyxy[:, 1::2] <= 480).all()
print(len(low))
"""
    script.write_text(blocks[0] + checks)
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 0
