"""A3C speed, for ``python -m a2c_tf1.bench --a3c``: global steps per second of actor-learner threads in
one process and of a supervised local cluster of worker processes, on the A3C paper's Atari settings
but with the A2C's network (the Nature CNN), so that A2C and A3C compare on the same net.

Both count global steps (agent decisions of all workers) over a timed window after a warm-up, so
they compare directly with the A2C's steps per second measured in the same run.
"""
from __future__ import annotations

import csv
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time

from a2c_tf1.a3c.config import A3CConfig
from a2c_tf1.a3c.envs import WorkerEnv
from a2c_tf1.a3c.train import WorkerFailure, build_threads, probe_spaces, threads_session, work_and_report
from a2c_tf1.a3c.worker import Update, Worker


def measure_threads(env_id: str, threads: int, seconds: float) -> float:
    """Global steps per second of ``threads`` actor-learner threads (CNN, t_max 5, shared RMSProp)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = A3CConfig(env_id=env_id, threads=threads, num_timesteps=10**12, models_dir=tmp,
                           log_dir=tmp).resolved(image_observations=True)
        ob_space, ac_space = probe_spaces(config)
        graph, glob, locals_ = build_threads(config, ob_space, ac_space)
        sess = threads_session(graph)
        sess.run([glob.initializer] + [local.initializer for local in locals_])
        envs = [WorkerEnv(env_id, i, config.noop_max) for i in range(threads)]
        workers = [Worker(local, glob, env, config, sess) for local, env in zip(locals_, envs)]
        stop, outbox = threading.Event(), queue.Queue()
        runners = [threading.Thread(target=work_and_report, args=(w, stop, outbox), daemon=True) for w in workers]
        for runner in runners:
            runner.start()

        def count(duration: float) -> int:
            steps, end = 0, time.perf_counter() + duration
            while time.perf_counter() < end:
                try:
                    message = outbox.get(timeout=0.5)
                except queue.Empty:
                    continue
                if isinstance(message, Update):
                    steps += message.steps
                elif isinstance(message, WorkerFailure):  # a rate measured with a dead worker would be wrong
                    raise RuntimeError(f"worker {message.worker} failed during the benchmark:\n{message.details}")
            return steps

        try:
            count(max(seconds / 3, 3.0))  # warm-up: graph optimisation, first games
            start = time.perf_counter()
            steps = count(seconds)
            return steps / (time.perf_counter() - start)
        finally:
            stop.set()
            for runner in runners:
                runner.join(timeout=60)
            for env in envs:
                env.close()
            sess.close()


def _last_step(progress: str) -> int:
    """The global step of the last complete row of ``progress.csv`` (0 before the first)."""
    try:
        with open(progress, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return 0
    for row in reversed(rows):  # the chief may be writing the last row right now
        try:
            return int(row["total_timesteps"])
        except (KeyError, TypeError, ValueError):
            continue
    return 0


def measure_processes(env_id: str, processes: int, seconds: float, start_timeout: float = 300.0) -> float:
    """Global steps per second of ``python -m a2c_tf1.a3c --processes N`` (a parameter server and N
    single-threaded workers on loopback), read from the chief's ``progress.csv``."""
    with tempfile.TemporaryDirectory() as tmp:
        progress = os.path.join(tmp, "logs", "progress.csv")
        command = [sys.executable, "-m", "a2c_tf1.a3c", "--env", env_id, "--policy", "cnn",
                   "--processes", str(processes),
                   "--num-timesteps", str(10**12), "--log-interval", "100", "--save-interval", str(10**12),
                   "--models-dir", os.path.join(tmp, "models"), "--log-dir", os.path.join(tmp, "logs")]
        with open(os.path.join(tmp, "launcher.out"), "wb") as out:
            launcher = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        try:
            deadline = time.time() + start_timeout
            while _last_step(progress) == 0:
                if launcher.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"the cluster did not start; see {tmp}/launcher.out")
                time.sleep(0.5)
            time.sleep(max(seconds / 3, 3.0))  # warm-up
            # The rate between the first and the last new log row seen in the window, each timed when it
            # appeared, so the row interval does not limit the resolution.
            seen, end = [], time.perf_counter() + seconds
            while time.perf_counter() < end or len(seen) < 2:
                step = _last_step(progress)
                if not seen or step != seen[-1][1]:
                    seen.append((time.perf_counter(), step))
                if time.perf_counter() > end + start_timeout:
                    raise RuntimeError(f"the cluster stopped logging; see {tmp}/launcher.out")
                time.sleep(0.05)
            (t0, s0), (t1, s1) = seen[1] if len(seen) > 2 else seen[0], seen[-1]
            return (s1 - s0) / max(t1 - t0, 1e-9)
        finally:
            if launcher.poll() is None:
                launcher.send_signal(signal.SIGTERM)  # the launcher stops its children by pid
                try:
                    launcher.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    launcher.kill()
                    launcher.wait()
