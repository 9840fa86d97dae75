"""Background work for an owner thread: each job runs in a thread of its own, and its result
(or its failure, as one line) comes back as a call `post`ed to the owner.

    jobs = Jobs(post)                        # post: run a callable on the owner thread
    jobs.run("model", work, done, failed)    # done(value) / failed(text) run via post
    calls = CallQueue(); calls.run_until(predicate, timeout)   # a post for hosts without a loop
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from ssd_rt.video.events import one_line


class CallQueue:
    """`post` for an owner thread without an event loop: callables wait here until `run()`."""

    def __init__(self) -> None:
        self._calls: queue.Queue[Callable[[], None]] = queue.Queue()

    def post(self, call: Callable[[], None]) -> None:  # any thread
        self._calls.put(call)

    def run(self, timeout: float = 0.0) -> int:
        """Run what was posted (waiting up to `timeout` for the first); how many ran."""
        ran = 0
        try:
            call = self._calls.get(timeout=timeout) if timeout > 0 else self._calls.get_nowait()
            while True:
                call()
                ran += 1
                call = self._calls.get_nowait()
        except queue.Empty:
            return ran

    def run_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while not done():
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            self.run(min(left, 0.05))
        return True


class Jobs:
    def __init__(self, post: Callable[[Callable[[], None]], None]) -> None:
        self._post = post
        self._threads: list[threading.Thread] = []

    @property
    def busy(self) -> bool:
        self._threads = [t for t in self._threads if t.is_alive()]
        return bool(self._threads)

    def run(self, name: str, work: Callable[[], object], done: Callable[[object], None],
            failed: Callable[[str], None]) -> None:  # fmt: skip
        """Run `work` in a thread; `done(value)` or `failed(one line)` run on the owner thread."""

        def body() -> None:
            try:
                value = work()
            except BaseException as err:  # a failure is an event, never a crash of the host
                text = one_line(err)
                self._post(lambda: failed(text))
            else:
                self._post(lambda: done(value))

        thread = threading.Thread(target=body, name=f"ssd-rt-session-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def join(self, timeout: float) -> None:
        for thread in list(self._threads):
            thread.join(timeout)
