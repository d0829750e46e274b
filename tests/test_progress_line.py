"""The live progress line: drawn on a terminal, nothing on a file; and on a cluster, the chief worker's
only, and only when it writes to a terminal (a ``--processes`` role writes to a log file)."""
from __future__ import annotations

import argparse
import io
import os
import sys

import pytest

from a2c_tf1.a3c import cluster
from a2c_tf1.a3c.cli import role_command
from a2c_tf1.a3c.config import A3CConfig
from a2c_tf1.a3c.train import Outcome
from a2c_tf1.logger import ProgressLine


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_the_line_is_drawn_on_a_terminal_and_cleared():
    stream = Terminal()
    progress = ProgressLine(1000, stream)
    progress.update(250, "last-100 mean 1.50")
    text = stream.getvalue()
    assert text.startswith("\r") and "steps 250/1,000 (25.0%)" in text and "last-100 mean 1.50" in text
    progress.clear()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_the_eta_counts_hours_past_a_day():
    from a2c_tf1.logger import duration_text

    assert duration_text(0) == "0:00:00"
    assert duration_text(3599.6) == "1:00:00"
    assert duration_text(30 * 3600 + 5 * 60 + 7) == "30:05:07"


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
def test_the_line_is_drawn_on_a_pseudo_terminal():
    master, slave = os.openpty()
    with os.fdopen(slave, "w") as stream:
        try:
            progress = ProgressLine(10, stream)
            progress.update(5)
            assert b"steps 5/10" in os.read(master, 4096)
        finally:
            os.close(master)


def test_nothing_is_written_to_a_file_or_a_string(tmp_path):
    string = io.StringIO()
    with open(tmp_path / "role.log", "w") as file:
        for stream in (string, file):
            progress = ProgressLine(10, stream)
            progress.update(5)
            progress.update(10)
            progress.clear()
    assert string.getvalue() == "" and (tmp_path / "role.log").read_text() == ""


def test_only_the_chief_on_a_terminal_gets_a_progress_line(tmp_path, monkeypatch):
    config = A3CConfig(num_timesteps=500)
    terminal = Terminal()
    progress = cluster.chief_progress(config, 0, terminal)
    assert isinstance(progress, ProgressLine) and progress.stream is terminal and progress.total == 500
    assert cluster.chief_progress(config, 1, Terminal()) is None  # it would repeat the chief's global step
    assert cluster.chief_progress(config, 0, io.StringIO()) is None
    with open(tmp_path / "worker-0.log", "w") as log:  # where --processes sends a role's output
        assert cluster.chief_progress(config, 0, log) is None
    monkeypatch.setattr(sys, "stderr", Terminal())  # by default, as the threads' line: stderr
    assert cluster.chief_progress(config, 0) is not None
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert cluster.chief_progress(config, 0) is None


@pytest.mark.parametrize("task, stderr, drawn", [(0, Terminal, True), (0, io.StringIO, False), (1, Terminal, False)])
def test_the_worker_role_passes_the_line_to_the_worker(monkeypatch, capsys, task, stderr, drawn):
    passed = []

    def run_worker(config, spec, task, wait_s, progress=None):
        passed.append(progress)
        return Outcome(config.num_timesteps, "done")

    monkeypatch.setattr(cluster, "run_worker", run_worker)
    monkeypatch.setattr(sys, "stderr", stderr())
    args = argparse.Namespace(job="worker", task=task, cluster_wait=None)
    assert role_command(A3CConfig(num_timesteps=100, log_dir="unused"), args, spec={}) == 0
    if drawn:
        assert isinstance(passed[0], ProgressLine) and passed[0].enabled
    else:
        assert passed == [None]
