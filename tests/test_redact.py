"""Credentials masked wherever text is shown: URL passwords, user tokens, secret query values."""

import logging

import pytest

from ssd_rt.errors import DataError, error_line
from ssd_rt.redact import MaskingFilter, mask_credentials


@pytest.mark.parametrize(
    "text, masked",
    [
        ("rtsp://alice:S3cret@10.0.0.2:554/stream", "rtsp://alice:***@10.0.0.2:554/stream"),
        ("open rtsp://a:b@h/x (unreachable)", "open rtsp://a:***@h/x (unreachable)"),
        ("http://TOKEN123@relay/cam", "http://***@relay/cam"),
        ("rtsp://u:p%40ss@h/s and rtmp://v:w@g/t", "rtsp://u:***@h/s and rtmp://v:***@g/t"),
        ("https://h/live.m3u8?token=abc&quality=hd", "https://h/live.m3u8?token=***&quality=hd"),
        ("http://h/a?user=bob&password=pw;api_key=k", "http://h/a?user=bob&password=***;api_key=***"),
        ("rtsp://10.0.0.2/stream", "rtsp://10.0.0.2/stream"),
        ("user@example.com wrote clip.mp4", "user@example.com wrote clip.mp4"),
        ("frames/*.jpg", "frames/*.jpg"),
    ],
)  # fmt: skip
def test_mask_credentials(text, masked):
    assert mask_credentials(text) == masked


def test_a_log_record_and_an_error_line_are_masked():
    record = logging.LogRecord("ssd_rt", logging.WARNING, __file__, 1,
                               "stream %s dropped", ("rtsp://a:pw@h/s",), None)  # fmt: skip
    assert (
        MaskingFilter().filter(record) and record.getMessage() == "stream rtsp://a:***@h/s dropped"
    )
    assert error_line(DataError("bad rtsp://a:pw@h/s\nsecond line")) == "bad rtsp://a:***@h/s"


def test_a_dataloader_workers_message_is_the_original_line():
    wrapped = DataError(
        "Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
        'last):\n  File "x.py", line 1, in f\n    raise DataError(...)\n'
        "ssd_rt.errors.DataError: cannot decode image /d/im2.jpg: not an image OpenCV can read\n"
    )
    assert error_line(wrapped) == "cannot decode image /d/im2.jpg: not an image OpenCV can read"
    assert error_line(OSError(28, "No space left on device", "out/x.onnx")) == (
        "out/x.onnx: No space left on device"
    )
