"""Running actor-learners: worker threads, and the loop in the main thread that logs, saves and stops.

The main thread never trains. It reads what the workers report, writes the log rows, ``monitor.csv``
and checkpoints (so one thread writes files), and ends the run when the global step is reached, on
Ctrl-C or SIGTERM (every worker stops after its current rollout, then the weights are saved) or when
any worker raises (the run stops with that worker's error; nothing is saved, so the last checkpoint
stays good). Every wait is bounded: workers get ``stop_timeout_s`` to stop, and a worker still running
then ends the run with an error naming it. A second Ctrl-C or SIGTERM ends the run at once
(:class:`StopNow`) without saving, except during a checkpoint or log write, which it lets finish.
"""
from __future__ import annotations

import collections
import os
import queue
import signal
import sys
import threading
import time
import traceback
from typing import Callable, NamedTuple, Optional

import numpy as np
import tensorflow as tf

from a2c_tf1.a3c import checkpoints
from a2c_tf1.a3c.config import WORKER_STOP_TIMEOUT_S, A3CConfig, run_settings
from a2c_tf1.a3c.envs import WorkerEnv, check_policy, probe_spaces  # noqa: F401 (the trainers' env checks)
from a2c_tf1.a3c.graph import RUN_OPS_IN_CALLER, GlobalNetwork, LocalNetwork, policy_class, session_config
from a2c_tf1.a3c.signals import StopNow, StopSignals, stop_on_signals
from a2c_tf1.a3c.worker import Update, Worker
from a2c_tf1.logger import Logger, ProgressLine
from a2c_tf1.metrics import explained_variance
from a2c_tf1.train import EpisodeStats

tf1 = tf.compat.v1



class WorkerError(RuntimeError):
    """A worker raised (``details`` holds its traceback), or workers did not stop in time (``stuck``)."""

    def __init__(self, message: str, details: str = "", stuck: tuple = ()):
        super().__init__(message)
        self.details, self.stuck = details, tuple(stuck)


class WorkerFailure(NamedTuple):
    """What a worker thread puts in the outbox when it raises (``details``: its traceback)."""
    worker: int
    error: BaseException
    details: str


class _Exited(NamedTuple):
    worker: int


class Outcome(NamedTuple):
    """How a run ended: ``reason`` is "done" (global step reached), the name of the signal that stopped
    it ("SIGINT", "SIGTERM"), or "stopped" (the caller's stop event)."""
    global_step: int
    reason: str


def work_and_report(worker: Worker, stop: threading.Event, outbox: queue.Queue) -> None:
    """A worker thread's body: ``worker.run``; an exception goes to ``outbox`` as a :class:`WorkerFailure`
    and sets ``stop``, so no worker dies silently."""
    try:
        worker.run(stop, outbox)
    except BaseException as exc:  # reported to the main thread, which stops the run with it
        outbox.put(WorkerFailure(worker.index, exc, traceback.format_exc()))
        stop.set()
    finally:
        outbox.put(_Exited(worker.index))


class Coordinator:
    """The main thread's side of a run: log rows every ``config.log_interval`` global steps, checkpoints
    every ``config.save_interval`` (when ``save`` is given), the stop decision.

    Args:
        save: writes a checkpoint and returns the global step saved; None where another process saves.
        read_step: reads the global step (for the end of the run).
        stop_timeout_s: how long the workers get to stop once asked (longer than a session call may
            wait on a cluster, see :data:`~a2c_tf1.a3c.config.WORKER_STOP_TIMEOUT_S`).
    """

    def __init__(self, config: A3CConfig, logger: Logger, start_step: int, save: Optional[Callable[[], int]],
                 read_step: Callable[[], int], progress: Optional[ProgressLine] = None, stream=None,
                 stop_timeout_s: float = WORKER_STOP_TIMEOUT_S):
        self.config, self.logger, self.save, self.read_step = config, logger, save, read_step
        self.stop_timeout_s = stop_timeout_s
        self.progress, self.stream = progress, stream or sys.stdout
        self.global_step = self.start_step = start_step
        self.global_episodes = 0
        self.next_log = (start_step // config.log_interval + 1) * config.log_interval
        self.next_save = (start_step // config.save_interval + 1) * config.save_interval
        self.episode_stats = EpisodeStats()
        self.updates = 0
        self._sums: dict = collections.defaultdict(float)
        self._values: list = []
        self._returns: list = []
        self._interval_updates = 0
        self._start_time = time.time()

    def _record(self, update: Update) -> None:
        self.updates += 1
        self.global_step = max(self.global_step, update.global_step)
        self.global_episodes = max(self.global_episodes, update.global_episodes)
        for key, value in update.stats.items():
            self._sums[key] += value
        self._values.append(update.values)
        self._returns.append(update.returns)
        self._interval_updates += 1
        self.episode_stats.add(update.episodes)
        self.logger.write_episodes(update.episodes, update.global_step)
        if self.progress is not None:
            self.progress.update(min(self.global_step, self.config.num_timesteps),
                                 f"last-100 mean {self.episode_stats.summary()['eprewmean']:.2f}")

    def write_row(self) -> None:
        if not self._interval_updates:
            return
        values, returns = np.concatenate(self._values), np.concatenate(self._returns)
        advantages = returns - values
        elapsed = max(time.time() - self._start_time, 1e-9)
        row = {"nupdates": self.updates, "total_timesteps": self.global_step,
               "fps": int((self.global_step - self.start_step) / elapsed), "global_episodes": self.global_episodes}
        row.update({k: v / self._interval_updates for k, v in self._sums.items()})
        row.update({"explained_variance": explained_variance(values, returns),
                    "advantage_mean": float(advantages.mean()), "advantage_std": float(advantages.std()),
                    "value_target_mean": float(returns.mean()), "value_mean": float(values.mean())})
        row.update(self.episode_stats.summary())
        if self.progress is not None:
            self.progress.clear()
        self.logger.write(row, self.global_step)
        self._sums.clear()
        self._values.clear()
        self._returns.clear()
        self._interval_updates = 0

    def _handle(self, message, stop: threading.Event, signals: StopSignals) -> None:
        """Log and save on an update (neither cut short by a second signal)."""
        self._record(message)
        if self.global_step >= self.next_log:
            with signals.deferred():
                self.write_row()
            self.next_log = (self.global_step // self.config.log_interval + 1) * self.config.log_interval
        if self.save is not None and self.global_step >= self.next_save and not stop.is_set():
            with signals.deferred():
                self.save()
            self.next_save = (self.global_step // self.config.save_interval + 1) * self.config.save_interval

    def _coordinate(self, threads: list, running: set, outbox: queue.Queue, stop: threading.Event,
                    signals: StopSignals) -> tuple[Optional[WorkerFailure], float]:
        """Read the workers' messages until every worker has exited, or until ``stop_timeout_s`` after
        ``stop`` was set. Returns the first failure (if any) and the deadline the workers had to stop by
        (now, where they all stopped)."""
        failure, deadline = None, None
        while running:
            if stop.is_set() and deadline is None:
                deadline = time.monotonic() + self.stop_timeout_s
            if deadline is not None and time.monotonic() > deadline:
                break  # the caller names the workers still running
            try:
                message = outbox.get(timeout=0.5)
            except queue.Empty:
                if not any(t.is_alive() for t in threads):
                    break  # every thread has gone; their last messages were read
                continue
            if isinstance(message, Update):
                self._handle(message, stop, signals)
            elif isinstance(message, WorkerFailure):
                failure = failure or message
                stop.set()
            elif isinstance(message, _Exited):
                running.discard(message.worker)
        return failure, deadline if deadline is not None else time.monotonic()

    def _join(self, threads: dict, deadline: float) -> list[int]:
        """Join the threads (worker index -> thread) until ``deadline``; returns the workers still running."""
        for thread in threads.values():
            thread.join(timeout=max(deadline - time.monotonic(), 0.1))
        return [index for index, thread in threads.items() if thread.is_alive()]

    def run(self, workers: list[Worker], stop: threading.Event) -> Outcome:
        """Start one thread per worker and coordinate them until they have all stopped.

        Raises:
            WorkerError: the first worker error, or the workers that did not stop within ``stop_timeout_s``.
            TrainingDiverged, OSError: from a checkpoint save (NaN weights, a full disk), after every worker stopped.
            StopNow: a second SIGINT/SIGTERM; worker threads may still be ending their rollout.
        """
        outbox: queue.Queue = queue.Queue()
        threads = {w.index: threading.Thread(target=work_and_report, args=(w, stop, outbox),
                                             name=f"a3c-worker-{w.index}", daemon=True) for w in workers}
        with stop_on_signals(stop) as signals:
            try:
                for thread in threads.values():
                    thread.start()
                failure, deadline = self._coordinate(list(threads.values()), set(threads), outbox, stop, signals)
            except StopNow:
                raise  # no waiting: that is what a second signal asks for
            except BaseException:  # logging or saving raised: no worker outlives the loop that watches it
                stop.set()
                self._join(threads, time.monotonic() + self.stop_timeout_s)
                raise
            stop.set()
            stuck = self._join(threads, deadline)
            if self.progress is not None:
                self.progress.clear()
            self._raise_for(failure, stuck)
            # A second signal waits for the final row and save: the run ends right after them anyway.
            with signals.deferred(then_raise=False):
                self.write_row()
                self.global_step = max(self.global_step, self.read_step())
                if self.save is not None:
                    self.save()
        if signals.received:
            reason = signal.Signals(signals.received[0]).name
        else:
            reason = "done" if self.global_step >= self.config.num_timesteps else "stopped"
        return Outcome(self.global_step, reason)

    def _raise_for(self, failure: Optional[WorkerFailure], stuck: list[int]) -> None:
        """WorkerError for the first failure and for the workers that did not stop in time, if any."""
        late = (f"worker {', '.join(map(str, stuck))} did not stop within {self.stop_timeout_s:g} s of the stop "
                f"request" if stuck else "")
        if failure is not None:
            error = failure.error
            message = f"worker {failure.worker} failed: {type(error).__name__}: {error}"
            raise WorkerError(message + (f"; {late}" if late else ""), failure.details, stuck)
        if stuck:
            raise WorkerError(late, stuck=stuck)


def prepare_global(sess, glob: GlobalNetwork, config: A3CConfig, say: Callable[[str], None]) -> tuple[int, int]:
    """Initialise the global network: from ``config.save_path`` when it exists (exact resume), else fresh
    (with normalised-column heads when asked); then mark it ready. Returns the global (step, episodes).

    Raises:
        checkpoint.CheckpointError: the checkpoint cannot be restored, or was trained with other settings
            (``SettingsMismatch``); the network is left not ready, so no worker trains on (and no chief
            saves over the checkpoint with) half-restored weights.
    """
    sess.run(glob.initializer)
    step = episodes = 0
    if os.path.exists(config.save_path) or os.path.exists(config.save_path + checkpoints.STATE_SUFFIX):
        step, episodes = checkpoints.restore(sess, glob, config.save_path, say, run_settings(config))
        say(f"resuming from {config.save_path} at global step {step:,}")
    elif config.head_init == "normc":
        glob.assign(sess, glob.normc_heads(np.random.RandomState(config.seed + 7)))
    glob.mark_ready(sess)
    return step, episodes


def build_threads(config: A3CConfig, ob_space, ac_space) -> tuple[tf.Graph, GlobalNetwork, list[LocalNetwork]]:
    """One graph: the global network and ``config.threads`` local networks."""
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(config.seed)
        cls = policy_class(config.policy)
        glob = GlobalNetwork(cls, ob_space, ac_space, config, np.random.RandomState(config.seed))
        locals_ = [LocalNetwork(i, glob, ob_space, ac_space, config, np.random.RandomState(config.seed + 1 + i))
                   for i in range(config.threads)]
        glob.finish()
    graph.finalize()
    return graph, glob, locals_


def threads_session(graph: tf.Graph) -> tf1.Session:
    """The session of a one-process run: every op runs in the worker thread that called ``Session.run``.

    A batch-1 step is a few dozen tiny ops; handing each to an inter-op thread pool cost more than the
    op (CartPole's MLP step: 489 -> 347 us of CPU per call run in the caller, the sync 144 -> 55 us;
    2 threads on Breakout: 110-135 -> 143-144 global steps/s). The worker threads are the parallelism.
    A cluster's sessions keep their pools: a parameter server whose ops ran in the caller never started.
    """
    return tf1.Session(graph=graph, config=session_config(inter_op_threads=RUN_OPS_IN_CALLER))


def train_threads(config: A3CConfig, logger: Logger, stream=None, progress: Optional[ProgressLine] = None,
                  stop: Optional[threading.Event] = None, stop_timeout_s: float = WORKER_STOP_TIMEOUT_S) -> Outcome:
    """Train with ``config.threads`` actor-learner threads in this process; checkpoints at ``config.save_path``.

    Raises:
        WorkerError: a worker raised (its traceback in ``details``), or did not stop within ``stop_timeout_s``.
        checkpoint.CheckpointError: the checkpoint to resume from is damaged or does not fit.
        StopNow: a second SIGINT/SIGTERM. The session and the envs are left open: worker threads may be
            inside a step, and the process is about to exit.
    """
    stream = stream or sys.stdout
    ob_space, ac_space = probe_spaces(config)
    check_policy(config, ob_space)
    graph, glob, locals_ = build_threads(config, ob_space, ac_space)
    sess = threads_session(graph)
    envs: list = []
    in_use: set = set()  # workers whose thread still runs: their env may be inside a step
    exiting = False
    try:
        sess.run([local.initializer for local in locals_])
        start, _ = prepare_global(sess, glob, config, lambda text: print(text, file=stream, flush=True))
        logger.resume_at(start)  # rows a killed run logged after its checkpoint
        if start >= config.num_timesteps:
            print(f"{config.save_path} already has {start:,} of {config.num_timesteps:,} global steps; "
                  f"raise --num-timesteps to train further", file=stream, flush=True)
            return Outcome(start, "done")
        envs = [WorkerEnv(config.env_id, config.seed + i, config.noop_max, config.action_set)
                for i in range(config.threads)]
        workers = [Worker(local, glob, env, config, sess) for local, env in zip(locals_, envs)]
        settings = run_settings(config)
        coordinator = Coordinator(config, logger, start, lambda: checkpoints.save(sess, glob, config.save_path, settings),
                                  lambda: int(sess.run(glob.step)), progress, stream, stop_timeout_s)
        return coordinator.run(workers, stop or threading.Event())
    except WorkerError as exc:
        in_use.update(exc.stuck)
        raise
    except StopNow:
        in_use.update(range(len(envs)))
        exiting = True
        raise
    finally:
        # An env closed under a running step can crash the process. Closing the session cancels a call
        # a stuck worker hangs in; only when the process is about to exit anyway is it left to the exit.
        for index, env in enumerate(envs):
            if index not in in_use:
                env.close()
        if not exiting:
            sess.close()
