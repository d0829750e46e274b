"""The global step an A3C checkpoint holds, read the way a test polls a run that is still writing it."""
from __future__ import annotations

from a2c_tf1.checkpoint import load_params


def saved_step(save_path) -> int:
    """The ``global_step`` in ``<save_path>.state``; -1 while it is not written yet or being replaced."""
    try:
        return int(load_params(str(save_path) + ".state")["global_step"])
    except Exception:  # not written yet, or replaced under us: the caller polls again
        return -1
