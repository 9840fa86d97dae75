"""The annotated video: H.264 in fragmented MP4 (or Matroska), on the source's own clock.

    recorder = VideoRecorder(Path("out.mp4"), fps=25.0, class_names=names, live=False)
    pipeline.add_sink(recorder)    # or Pipeline(..., sinks=[recorder])

Why these choices (PyAV, the FFmpeg libraries in the `av` wheel, instead of OpenCV's writer):
- H.264 (libx264) plays in browsers and every common player; OpenCV's `mp4v` (MPEG-4 Part 2)
  does not play in browsers.
- Fragmented MP4 (`empty_moov`, a fragment per key frame, a key frame forced every
  KEY_EVERY_S of video) is playable while it is written: SIGKILL or a power cut loses at most
  the last second. A plain MP4 writes its index last and is unplayable until then. `.mkv`
  gives Matroska, crash-safe the same way.
- Timestamps come from the source, not from a nominal rate: a file's frames keep the decoder's
  timestamps (a variable or mislabelled rate is recorded as it plays), a live source's frames
  their capture times (frames dropped because inference was slower leave their time, so the
  recording plays in real time), image folders and seeks advance by one nominal frame.
- `tune=zerolatency` keeps the encoder from holding frames back (no look-ahead, no B-frames),
  so what was handed over is in the file within a fragment; `veryfast` costs about 9 ms a
  720p frame on the 2-core EPYC this project runs CI on, in the recorder's own thread.
- A frame whose size differs from the first (a stream that changed resolution, an image
  folder of mixed sizes) is letterboxed into the first size, and that is said once.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ssd_rt.video.draw import draw_detections, draw_text_lines
from ssd_rt.video.frames import Frame, Result
from ssd_rt.video.sinks import FileSink

log = logging.getLogger("ssd_rt")

TIME_BASE = Fraction(1, 90000)  # MPEG's 90 kHz clock: exact for 24, 25, 30, 50, 60 and NTSC
KEY_EVERY_S = 1.0  # a key frame, hence a fragment, at least this often: what SIGKILL may lose
FRAGMENTED_MP4 = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"}
X264 = {"preset": "veryfast", "tune": "zerolatency", "crf": "23", "x264-params": "forced-idr=1"}


def letterbox(image: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """`image` scaled to fit `size_wh` keeping its aspect ratio, centred on black."""
    width, height = size_wh
    scale = min(width / image.shape[1], height / image.shape[0])
    new_w = max(1, round(image.shape[1] * scale))
    new_h = max(1, round(image.shape[0] * scale))
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = cv2.resize(
        image, (new_w, new_h), interpolation=cv2.INTER_AREA
    )
    return canvas


class VideoClock:
    """Frame -> presentation time in TIME_BASE ticks, strictly increasing from 0.

    The time of a frame is its decoder timestamp (files), its capture time (live), or its index
    at the nominal rate (image folders). A discontinuity (a player's seek: a new epoch, or a
    time that goes backwards) continues one nominal frame after the previous one."""

    def __init__(self, fps: float, live: bool) -> None:
        self.frame_ticks = max(1, round(1 / (fps * TIME_BASE)))
        self.live = live
        self.origin_s: float | None = None  # source time at tick 0 (moved on discontinuities)
        self.last_ticks = -1
        self.last_epoch = 0

    def source_time(self, frame: Frame) -> float:
        if self.live:
            return frame.captured_at
        if frame.pts_s is not None:
            return frame.pts_s
        return frame.index * self.frame_ticks * float(TIME_BASE)

    def ticks(self, frame: Frame) -> int:
        t = self.source_time(frame)
        if self.origin_s is None:
            self.origin_s, self.last_epoch = t, frame.epoch
        ticks = round((t - self.origin_s) / TIME_BASE)
        if frame.epoch != self.last_epoch or ticks <= self.last_ticks - self.frame_ticks:
            ticks = self.last_ticks + self.frame_ticks  # a seek: go on from the last frame
            self.origin_s = t - float(ticks * TIME_BASE)
        self.last_epoch = frame.epoch
        ticks = max(ticks, self.last_ticks + 1)  # equal timestamps: one tick apart
        self.last_ticks = ticks
        return ticks


class VideoRecorder(FileSink):
    name = "recorder"

    def __init__(self, path: Path, fps: float | None, class_names: tuple[str, ...], *,
                 live: bool = False, overwrite: bool = True,
                 metadata: dict[str, str] | None = None) -> None:  # fmt: skip
        """`fps`: the source's nominal rate (encoder hint, folders' and seeks' step; 30 when
        unknown). `metadata`: container tags (title, comment), already free of credentials."""
        self.fps = fps or 30.0
        self.class_names = class_names
        self.metadata = dict(metadata or {})
        self.clock = VideoClock(self.fps, live)
        self.container = None
        self.stream = None
        self.size: tuple[int, int] | None = None  # (width, height) of the recording
        self.next_key_ticks = 0
        self.letterboxed = False
        super().__init__(path, overwrite=overwrite)

    def handle(self, result: Result) -> None:
        import av

        image = result.frame.image_bgr.copy()
        draw_detections(image, result.detections, self.class_names)
        if result.stats_lines:
            draw_text_lines(image, list(result.stats_lines))
        if self.container is None:
            self._open(image.shape[1], image.shape[0])
        image = self._fit(image, result.frame.index)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self.clock.ticks(result.frame)
        frame.time_base = TIME_BASE
        if frame.pts >= self.next_key_ticks:  # a fragment boundary about every KEY_EVERY_S
            frame.pict_type = av.video.frame.PictureType.I
            self.next_key_ticks = frame.pts + round(KEY_EVERY_S / TIME_BASE)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def _open(self, width: int, height: int) -> None:
        import av

        self.size = (width + width % 2, height + height % 2)  # 4:2:0 needs even sizes
        mkv = self.path.suffix.lower() == ".mkv"
        self.container = av.open(str(self.temp), mode="w", format="matroska" if mkv else "mp4",
                                 options={} if mkv else FRAGMENTED_MP4)  # fmt: skip
        for key, value in self.metadata.items():
            self.container.metadata[key] = value
        rate = Fraction(round(self.fps * 1000), 1000)
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        self.stream = self.container.add_stream(codec, rate=rate,
                                                options=X264 if codec == "libx264" else {})
        self.stream.width, self.stream.height = self.size
        self.stream.pix_fmt = "yuv420p"  # what browsers play
        self.stream.codec_context.time_base = TIME_BASE
        self.stream.codec_context.gop_size = max(1, round(self.fps * KEY_EVERY_S * 10))

    def _fit(self, image: np.ndarray, index: int) -> np.ndarray:
        if (image.shape[1], image.shape[0]) == self.size:
            return image
        pad_w, pad_h = self.size[0] - image.shape[1], self.size[1] - image.shape[0]
        odd_edge = pad_w in (0, 1) and pad_h in (0, 1)  # the first size, made even
        if not odd_edge and not self.letterboxed:
            self.letterboxed = True
            log.warning("recording %s: frame %d is %dx%d, the recording %dx%d; letterboxing "
                        "this and every other frame of another size", self.path.name, index,
                        image.shape[1], image.shape[0], *self.size)  # fmt: skip
        if odd_edge:  # an odd width or height: one black column or row
            padded = np.zeros((self.size[1], self.size[0], 3), np.uint8)
            padded[: image.shape[0], : image.shape[1]] = image[: self.size[1], : self.size[0]]
            return padded
        return letterbox(image, self.size)

    def finish(self) -> None:
        if self.container is None:  # no frame came: no video, not an empty file under its name
            self.temp.unlink(missing_ok=True)
            return
        try:
            if not self.failed:
                for packet in self.stream.encode():  # what the encoder still holds
                    self.container.mux(packet)
        finally:
            try:
                self.container.close()  # the last fragment
            except Exception as err:  # a failed close after a failed write: the first counts
                if not self.failed:
                    raise
                log.debug("closing %s after an error: %s", self.temp, err)
        super().finish()
