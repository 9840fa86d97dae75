"""Engine-build progress from TensorRT's phase/step callbacks (IProgressMonitor's protocol),
driven here in the order TensorRT calls them; no TensorRT needed."""

import logging

from ssd_rt.export.progress import BuildProgress, logging_reporter


def test_nested_phases_give_one_fraction_that_only_grows():
    seen = []
    progress = BuildProgress(lambda fraction, phase: seen.append((round(fraction, 3), phase)))
    progress.phase_start("Building engine", None, 4)
    progress.step_complete("Building engine", 0)  # 1 of 4 top steps
    progress.phase_start("Tactic selection", "Building engine", 10)
    for step in range(5):
        progress.step_complete("Tactic selection", step)  # half of the second top step
    assert seen[-1] == (0.375, "Tactic selection")  # (1 + 5/10) / 4
    progress.phase_finish("Tactic selection")
    progress.step_complete("Building engine", 1)
    assert seen[-1] == (0.5, "Building engine")
    progress.step_complete("Building engine", 3)
    progress.phase_finish("Building engine")
    assert seen[-1][0] == 1.0
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)


def test_unknown_phases_and_zero_steps_are_harmless():
    progress = BuildProgress(lambda *_: None)
    assert progress.step_complete("never started", 3)
    progress.phase_finish("never started")
    progress.phase_start("empty", None, 0)
    progress.step_complete("empty", 0)
    assert progress.fraction == 1.0


def test_should_stop_cancels_the_build():
    stop = []
    progress = BuildProgress(lambda *_: None, should_stop=lambda: bool(stop))
    progress.phase_start("Building engine", None, 2)
    assert progress.step_complete("Building engine", 0)
    stop.append(True)
    assert not progress.step_complete("Building engine", 1)  # TensorRT stops on False


def test_the_log_line_comes_every_ten_seconds(caplog):
    now = [100.0]
    report = logging_reporter("slim.engine", every_s=10, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="ssd_rt"):
        for t, fraction in ((101, 0.1), (110.5, 0.25), (115, 0.3), (121, 0.5)):
            now[0] = t
            report(fraction, "Tactic selection")
    assert [r.getMessage() for r in caplog.records] == [
        "building slim.engine: 25% (Tactic selection), 10 s so far",
        "building slim.engine: 50% (Tactic selection), 21 s so far",
    ]
