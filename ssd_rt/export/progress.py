"""Engine-build progress: TensorRT's progress callbacks as one fraction and a log line every few
seconds, because a full SSD300 build takes minutes and a silent one looks hung.

TensorRT (IProgressMonitor, 10.0+) reports phases that nest ("Building engine" > "Tactic
selection" > ...), each with a step count, from the builder's thread:
    phase_start(name, parent or None, num_steps), step_complete(name, step), phase_finish(name)
`BuildProgress` turns that into the done fraction of the outermost phase, refined by its running
children: with 4 top steps, step 2 done and its child half way, the build is (2 + 0.5) / 4 done.
It holds no TensorRT object, so it is tested on any machine; `tensorrt_monitor` wraps it in the
IProgressMonitor subclass TensorRT calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("ssd_rt")

LOG_EVERY_S = 10.0


@dataclass
class _Phase:
    parent: str | None
    steps: int
    done: int = 0
    children: list[str] = field(default_factory=list)


class BuildProgress:
    """IProgressMonitor's three callbacks -> `report(fraction 0..1, innermost phase name)`."""

    def __init__(
        self,
        report: Callable[[float, str], None],
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._report = report
        self._should_stop = should_stop
        self._phases: dict[str, _Phase] = {}
        self._lock = threading.Lock()
        self.fraction = 0.0

    def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
        with self._lock:
            self._phases[phase_name] = _Phase(parent_phase, max(int(num_steps), 1))
            if parent_phase in self._phases:
                self._phases[parent_phase].children.append(phase_name)
        self._update(phase_name)

    def step_complete(self, phase_name: str, step: int) -> bool:
        """True: go on; False asks TensorRT to stop the build."""
        with self._lock:
            phase = self._phases.get(phase_name)
            if phase is not None:
                phase.done = min(int(step) + 1, phase.steps)
        self._update(phase_name)
        return not self._should_stop()

    def phase_finish(self, phase_name: str) -> None:
        with self._lock:
            phase = self._phases.pop(phase_name, None)
            if phase is not None and phase.parent in self._phases:
                self._phases[phase.parent].children.remove(phase_name)
        self._update(phase.parent if phase and phase.parent else phase_name)

    def _done(self, name: str) -> float:
        phase = self._phases[name]
        running = [c for c in phase.children if c in self._phases]
        partial = self._done(running[-1]) if running else 0.0
        return min((phase.done + partial) / phase.steps, 1.0)

    def _update(self, name: str) -> None:
        with self._lock:
            roots = [n for n, p in self._phases.items() if p.parent not in self._phases]
            if roots:  # never backwards: a new top phase restarts its own count at 0
                self.fraction = max(self.fraction, self._done(roots[0]))
            elif not self._phases:
                self.fraction = 1.0
        self._report(self.fraction, name)


def logging_reporter(
    what: str, every_s: float = LOG_EVERY_S, clock: Callable[[], float] = time.monotonic
) -> Callable[[float, str], None]:
    """A `report` that logs "building <what>: 42% (<phase>), 35 s so far" every `every_s`."""
    started = clock()
    last = [started]

    def report(fraction: float, phase: str) -> None:
        now = clock()
        if now - last[0] >= every_s:
            last[0] = now
            log.warning("building %s: %d%% (%s), %.0f s so far", what, fraction * 100, phase,
                        now - started)  # fmt: skip

    return report


def tensorrt_monitor(progress: BuildProgress):
    """`progress` as the trt.IProgressMonitor that `config.progress_monitor` takes."""
    import tensorrt as trt

    def never_raise(call, *args, fallback=None):
        # An exception escaping into TensorRT's builder thread would end the process: report
        # it in the log and let the build go on.
        try:
            return call(*args)
        except Exception as err:
            log.warning("build progress: %s", err)
            return fallback

    class Monitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)  # pybind11 needs the base initialised

        def phase_start(self, phase_name, parent_phase, num_steps) -> None:
            never_raise(progress.phase_start, phase_name, parent_phase, num_steps)

        def step_complete(self, phase_name, step) -> bool:
            return never_raise(progress.step_complete, phase_name, step, fallback=True)

        def phase_finish(self, phase_name) -> None:
            never_raise(progress.phase_finish, phase_name)

    return Monitor()
