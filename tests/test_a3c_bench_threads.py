"""The thread count of ``python -m a2c_tf1.bench --a3c`` (``--threads`` beside the process roles is
one of the bad-settings cases in test_a3c_cluster.py)."""
from __future__ import annotations

import os
import sys


def test_the_a3c_bench_uses_as_many_threads_as_a3c_training(monkeypatch, capsys):
    from a2c_tf1 import bench
    from a2c_tf1.a3c import bench as a3c_bench

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    speeds = {"env_steps_per_s": 1.0, "model_steps_per_s": 1.0, "serial_limit_steps_per_s": 0.5,
              "train_steps_per_s": 1.0, "train_over_limit": 2.0, "peak_rss_mib": 1.0}
    monkeypatch.setattr(bench, "measure", lambda *args: speeds)
    asked = []
    monkeypatch.setattr(a3c_bench, "measure_threads", lambda env_id, threads, seconds: asked.append(threads) or 1.0)
    monkeypatch.setattr(a3c_bench, "measure_processes", lambda env_id, processes, seconds: 1.0)
    monkeypatch.setattr(sys, "argv", ["bench", "--a3c", "--seconds", "1"])
    bench.main()
    assert asked == [2]  # the CPUs this process may run on, as default_threads() counts them, not os.cpu_count()
    assert "A3C, 2 threads" in capsys.readouterr().out
