"""``python -m a2c_tf1.a3c`` flags of one way to run given with another (``--threads`` with the process
roles), and the thread count of ``python -m a2c_tf1.bench --a3c``.

The CLI runs are subprocesses of the real command line, in an empty folder of pytest's tmp_path, so
that a log or models folder made by mistake would show.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROG = "python -m a2c_tf1.a3c"
EXIT_BAD_SETTINGS = 4
TIMEOUT = 120
# One OpenBLAS thread in the children: two spin against each other on a busy 2-core machine.
CHILD_ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": ROOT}


def run_cli(cwd, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "a2c_tf1.a3c", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, env=CHILD_ENV)


def cluster_spec(path) -> str:
    path.write_text(json.dumps({"ps": ["127.0.0.1:1"], "worker": ["127.0.0.1:2", "127.0.0.1:3"]}))
    return str(path)


@pytest.mark.parametrize("mode, fragment", [
    (["--processes", "2"], "--threads does not go with --processes"),
    (["--job", "worker", "--task", "0"], "--threads does not go with --job"),
    (["--job", "ps", "--task", "0"], "--threads does not go with --job"),
])
def test_threads_with_a_process_role_is_one_line_and_exit_4_before_anything_is_made(tmp_path, mode, fragment):
    work = tmp_path / "work"
    work.mkdir()
    spec = ["--cluster-spec", cluster_spec(tmp_path / "spec.json")] if "--job" in mode else []
    proc = run_cli(work, "--env", "CartPole-v1", "--policy", "mlp", "--threads", 2, *mode, *spec)
    assert proc.returncode == EXIT_BAD_SETTINGS, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith(f"{PROG}: error:")]
    assert len(errors) == 1 and fragment in errors[0], proc.stderr
    assert "one actor-learner thread" in errors[0] and "--processes N" in errors[0]
    assert os.listdir(work) == []  # no logs/, no models/, no launcher.json


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
