"""What the crash-safe H.264 recorder costs: ssd-rt's VideoRecorder (PyAV, libx264 veryfast,
zerolatency, fragmented MP4, a key frame a second) against OpenCV's mp4v writer, the recorder
ssd-rt used before (not crash-safe, not playable in browsers), on the same annotated 720p
frames, in the same run. Each writes N frames from one thread; milliseconds per frame and the
file size are printed with the ratio ours / OpenCV.

Run: `.venv/bin/python benchmarks/recorder.py [--frames 300] [--size 1280x720]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ssd_rt.data.synthetic import MovingScenes
from ssd_rt.detections import Detections
from ssd_rt.machine import describe_cpu
from ssd_rt.video.frames import Frame, Result
from ssd_rt.video.recorder import VideoRecorder


def frames(count: int, height: int, width: int) -> list:
    return [image for image, _, _ in MovingScenes(0, height, width).frames(count)]


def time_ours(images: list, folder: Path, fps: float) -> tuple[float, int]:
    recorder = VideoRecorder(folder / "ours.mp4", fps, ("shape",))
    empty = Detections.empty()  # drawing boxes costs the same for both; only encoding differs
    t0 = time.perf_counter()
    for i, image in enumerate(images):
        frame = Frame(image, i, time.perf_counter(), pts_s=i / fps)
        recorder.handle(Result(frame, empty))
    recorder.finish()
    elapsed = time.perf_counter() - t0
    return elapsed / len(images) * 1e3, (folder / "ours.mp4").stat().st_size


def time_opencv(images: list, folder: Path, fps: float) -> tuple[float, int]:
    height, width = images[0].shape[:2]
    path = folder / "opencv.mp4"
    t0 = time.perf_counter()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for image in images:
        writer.write(image.copy())  # the recorder copies too (it draws on its copy)
    writer.release()
    elapsed = time.perf_counter() - t0
    return elapsed / len(images) * 1e3, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT")
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    print(describe_cpu())
    images = frames(args.frames, height, width)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        time_ours(images[:10], folder, args.fps)  # warm-up: codec libraries loaded
        ours_ms, ours_bytes = time_ours(images, folder, args.fps)
        cv_ms, cv_bytes = time_opencv(images, folder, args.fps)
    print(f"{args.frames} frames {width}x{height}")
    print(f"OpenCV mp4v (baseline)          {cv_ms:7.2f} ms/frame  {cv_bytes / 1e6:6.2f} MB")
    print(f"ssd-rt H.264 fragmented MP4     {ours_ms:7.2f} ms/frame  {ours_bytes / 1e6:6.2f} MB")
    print(f"ratio ours / OpenCV: time {ours_ms / cv_ms:.2f}x, size {ours_bytes / cv_bytes:.2f}x")
    print(f"the recorder's thread keeps up with up to {1e3 / ours_ms:.0f} FPS at this size")


if __name__ == "__main__":
    main()
