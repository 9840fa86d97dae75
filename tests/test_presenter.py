"""The presenter: results of a batch shown at the spacing they were captured with, not as they
arrive (the cause of the player's 5 FPS on a busy CPU); then the Qt bridge doing it in a real
event loop."""

import threading
import time

import numpy as np
import pytest
import torch

from ssd_rt.detections import Detections
from ssd_rt.video.frames import Frame, Result
from ssd_rt.video.presenter import Presenter

FRAME_S = 0.04  # a 25 fps file


def result(index: int, captured_at: float) -> Result:
    frame = Frame(np.zeros((4, 4, 3), np.uint8), index, captured_at)
    return Result(frame, Detections(torch.zeros((0, 4)), torch.zeros(0), torch.zeros(0)))


def put_batch(presenter: Presenter, first: int, captured_0: float, arrived: float) -> None:
    """Four frames captured FRAME_S apart, all arriving at `arrived` (one inference batch)."""
    for i in range(4):
        presenter.put(result(first + i, captured_0 + i * FRAME_S), now=arrived)


def shown_at(presenter: Presenter, times: list[float]) -> list[int | None]:
    return [(r.frame.index if (r := presenter.take(now=t)) else None) for t in times]


def test_a_batch_is_shown_frame_by_frame_at_its_capture_spacing():
    presenter = Presenter()
    put_batch(presenter, 0, captured_0=10.0, arrived=10.2)  # the last one arrived 80 ms late
    delay = 10.2 - 10.0  # the longest capture-to-arrival time: the first frame's
    assert presenter.wait_s(now=10.2) == pytest.approx(0.0)
    assert shown_at(presenter, [10.2]) == [0]
    assert presenter.wait_s(now=10.2) == pytest.approx(FRAME_S)  # not at once: 40 ms later
    assert shown_at(presenter, [10.2 + FRAME_S - 1e-3]) == [None]  # not before its time
    times = [10.0 + i * FRAME_S + delay for i in (1, 2, 3)]
    assert shown_at(presenter, times) == [1, 2, 3]
    assert presenter.wait_s(now=times[-1]) is None and presenter.dropped == 0
    # The next batch, captured right after, keeps the rhythm: 4 frames, 40 ms apart.
    put_batch(presenter, 4, captured_0=10.16, arrived=10.36)
    times = [10.16 + i * FRAME_S + delay for i in range(4)]
    assert shown_at(presenter, times) == [4, 5, 6, 7]


def test_a_display_woken_late_catches_up_in_order_and_one_far_behind_skips():
    presenter = Presenter(late_s=0.1)
    put_batch(presenter, 0, captured_0=0.0, arrived=0.12)
    # Woken 50 ms late: frames 0 and 1 are due; both are shown, in order, none dropped.
    assert shown_at(presenter, [0.17, 0.17]) == [0, 1]
    assert presenter.dropped == 0
    # Woken 300 ms late: frames 2 and 3 are both overdue; the older one is skipped.
    assert shown_at(presenter, [0.54, 0.54]) == [3, None]
    assert presenter.dropped == 1


def test_the_delay_rises_at_once_and_falls_back_when_slow_arrivals_leave_the_window():
    presenter = Presenter(recent=8)
    presenter.put(result(0, 0.0), now=0.5)  # a slow start: 500 ms from capture to arrival
    assert presenter.wait_s(now=0.5) == 0.0  # never due before it arrived
    assert shown_at(presenter, [0.5]) == [0]
    presenter.put(result(1, FRAME_S), now=FRAME_S + 0.03)  # then fast: 30 ms
    assert presenter.wait_s(now=0.0) == pytest.approx(FRAME_S + 0.5)  # still the slow delay
    for i in range(2, 9):
        presenter.put(result(i, i * FRAME_S), now=i * FRAME_S + 0.03)
    # After 8 fast arrivals the 500 ms one has left the window: the delay is 30 ms again.
    assert presenter.wait_s(now=0.0) == pytest.approx(FRAME_S + 0.03)


def test_clear_forgets_the_pending_results_and_the_delay():
    presenter = Presenter()
    put_batch(presenter, 0, captured_0=0.0, arrived=1.0)
    presenter.clear()
    assert presenter.take(now=5.0) is None and presenter.wait_s() is None
    presenter.put(result(9, 2.0), now=2.01)
    assert presenter.wait_s(now=2.01) == pytest.approx(0.0)
    assert presenter.take_newest().frame.index == 9 and presenter.take_newest() is None


@pytest.mark.gui
def test_the_bridge_paints_a_batch_frame_by_frame_in_a_real_event_loop(qtbot):
    pytest.importorskip("PyQt6.QtWidgets", reason="needs PyQt6 (pip install 'ssd-rt[gui]')")
    from gui.bridge import ResultBridge

    bridge = ResultBridge()
    shown: list[tuple[int, float]] = []
    bridge.ready.connect(lambda: (r := bridge.take()) and shown.append((r.frame.index,
                                                                        time.perf_counter())))
    now = time.perf_counter()
    batch = [result(i, now - 0.2 + i * FRAME_S) for i in range(4)]  # captured 40 ms apart
    worker = threading.Thread(target=lambda: [bridge.put(r) for r in batch])  # "inference"
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(shown) == 4, timeout=5000)
    assert [index for index, _ in shown] == [0, 1, 2, 3]
    gaps = np.diff([t for _, t in shown])
    assert (gaps > FRAME_S * 0.75).all(), gaps  # Qt timers fire late, never early
