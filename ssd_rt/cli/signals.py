"""Every way a user stops a command ends it the same way: SIGINT (Ctrl-C), SIGTERM (`timeout`,
`docker stop`, systemd) and SIGHUP (a closed terminal) all finish the output files, print the
summary and exit with 128 + the signal's number, as shells report it.

    with StopSignals() as stop:        # before any work
        ...                            # starting up: the first signal raises Stopped here
        stop.running()                 # outputs exist now: a signal only sets stop.event
        while not stop.event.is_set(): ...
        return stop.exit_code(0)       # 128 + signal when one came, else the given code

Only the first signal counts. Any later one (a second Ctrl-C 0.05 s after the first, `docker
stop` following SIGTERM with SIGTERM) is ignored while the files are finished: an exception
raised at an arbitrary point of that work, or in a thread's C++ code at interpreter exit, is
what used to abort the process (exit 134) and leave an unplayable recording. SIGKILL cannot be
caught; the recordings are written so that it loses at most their last second.
"""

from __future__ import annotations

import signal
import threading

CAUGHT = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Stopped(Exception):
    """Raised by the first signal while a command is still starting (nothing to finish yet)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class StopSignals:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self._raising = True
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # only it may set handlers
            for signum in CAUGHT:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            # After a signal the process is on its way out: a late one must not interrupt it.
            signal.signal(signum, signal.SIG_IGN if self.signum is not None else previous)

    def running(self) -> None:
        """From now on a signal only sets `event`; the owner finishes the run and its files."""
        self._raising = False
        if self.signum is not None:  # came while switching over
            self.event.set()

    @property
    def name(self) -> str | None:
        return None if self.signum is None else signal_name(self.signum)

    def exit_code(self, code: int) -> int:
        return code if self.signum is None else 128 + self.signum

    def _handle(self, signum: int, _frame) -> None:
        if self.signum is not None:
            return  # a second signal never interrupts the finishing of the files
        self.signum = signum
        self.event.set()
        if self._raising:
            raise Stopped(signum)
