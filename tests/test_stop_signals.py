"""StopSignals: SIGINT and SIGTERM become a stop request while training, and the old handlers come back.

The whole path (a real run stopped by SIGTERM, then by an inherited-ignored SIGINT, then resumed) is
tests/test_cli.py::test_sigterm_and_an_ignored_sigint_save_and_the_same_command_resumes.
"""
import os
import signal
import time

from a2c_tf1.train import StopSignals


def _deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # Python runs the handler at its next check between bytecodes


def test_stop_signals_record_the_first_signal_and_restore_the_previous_handlers():
    def own_handler(signum, frame):
        raise AssertionError("the handler from before StopSignals ran while it was active")

    saved = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as inherited by `nohup cmd &` from a script
    signal.signal(signal.SIGTERM, own_handler)
    try:
        with StopSignals() as stop:
            assert stop.received is None
            _deliver(signal.SIGINT)  # ignored before, handled now
            assert stop.received == signal.SIGINT
            _deliver(signal.SIGTERM)
            assert stop.received == signal.SIGINT  # the first request stands
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is own_handler
    finally:
        signal.signal(signal.SIGINT, saved[0])
        signal.signal(signal.SIGTERM, saved[1])
