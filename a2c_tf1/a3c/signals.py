"""How SIGINT and SIGTERM stop a run: the first asks every worker to stop after its current rollout (the
run then saves); a second ends the run at once, without waiting or saving, except while a checkpoint or
a log row is being written, which it lets finish (so the last checkpoint on disk is never cut short).

No TensorFlow here: the ``--processes`` launcher imports this module's :class:`StopNow` too.
"""
from __future__ import annotations

import contextlib
import signal
import threading


class StopNow(BaseException):
    """A second SIGINT or SIGTERM: the run ends at once, without waiting for the workers or saving; the
    last checkpoint on disk stays as it was (saves are atomic, and none is cut short). A BaseException,
    as KeyboardInterrupt, so that no ``except Exception`` on the way up swallows it."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped at once by a second {signal.Signals(signum).name}")


class StopSignals:
    """SIGINT and SIGTERM as :func:`stop_on_signals` handles them: the first sets ``stop``; a second
    raises :class:`StopNow` in the main thread, or, inside :meth:`deferred`, once the block is done.

    Attributes:
        received: the signals received, in order.
    """

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.received: list[int] = []
        self._deferring = False

    def handle(self, signum: int, _frame=None) -> None:
        self.received.append(signum)
        self.stop.set()
        if len(self.received) > 1 and not self._deferring:
            raise StopNow(signum)

    @contextlib.contextmanager
    def deferred(self, then_raise: bool = True):
        """A block that a second signal must not cut short (a checkpoint or log write). With
        ``then_raise``, a second signal that came during it raises :class:`StopNow` after it."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if then_raise and len(self.received) > 1:
            raise StopNow(self.received[-1])


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event):
    """SIGINT and SIGTERM go to a :class:`StopSignals` (yielded) instead of raising KeyboardInterrupt or
    ending the process. Outside the main thread Python delivers no signals: nothing is installed."""
    signals = StopSignals(stop)
    if threading.current_thread() is not threading.main_thread():
        yield signals
        return
    previous = {s: signal.signal(s, signals.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield signals
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
