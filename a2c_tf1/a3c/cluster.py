"""One role of an A3C cluster on TensorFlow's distributed runtime: a parameter server or a worker.

The global network and its optimizer slots live on the parameter server(s), spread by
``replica_device_setter``; each worker keeps its local network on its own device and sees only the
parameter servers and itself (``device_filters``), so no worker ever waits for another. Worker 0 is
the chief: it initialises the global variables (or restores them from the checkpoint) and marks them
ready, saves checkpoints and writes ``progress.csv``; the others wait for the ready flag and log their
own games under ``<log_dir>/worker-<i>/``. A chief restarted after a failed restore finds the flag unset
and restores again, so it never trains from (and saves over the checkpoint with) fresh weights.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from typing import Optional

import numpy as np
import tensorflow as tf

from a2c_tf1.a3c import checkpoints
from a2c_tf1.a3c.config import OPERATION_TIMEOUT_S, A3CConfig, run_settings
from a2c_tf1.a3c.envs import WorkerEnv, check_policy, probe_spaces
from a2c_tf1.a3c.graph import GlobalNetwork, LocalNetwork, policy_class, session_config
from a2c_tf1.a3c.signals import StopNow, stop_on_signals
from a2c_tf1.a3c.train import Coordinator, Outcome, WorkerError, prepare_global
from a2c_tf1.a3c.worker import Worker
from a2c_tf1.logger import Logger, ProgressLine

tf1 = tf.compat.v1

CLUSTER_WAIT_S = 300.0  # a worker waits this long for the parameter servers, then for the chief's initialisation


class ClusterWaitError(TimeoutError):
    """A role this worker needs did not come up within the wait it was given."""


class PortTakenError(OSError):
    """This role's port is held by another process, so its server cannot start."""


def start_server(spec: dict, job: str, task: int, config) -> "tf1.train.Server":
    """This role's server; :class:`PortTakenError` naming the address when it cannot listen there.

    gRPC logs why (address in use) but TensorFlow raises only "Could not start gRPC server".
    """
    try:
        return tf1.train.Server(tf1.train.ClusterSpec(spec), job_name=job, task_index=task, config=config, start=True)
    except tf.errors.UnknownError as exc:
        if "Could not start gRPC server" not in exc.message:
            raise
        role = "parameter server" if job == "ps" else "worker"
        raise PortTakenError(f"{role} {task} cannot listen at {spec[job][task]}: the port is taken "
                             f"(another process holds it)") from None


def wait_for_parameter_servers(addresses: list[str], wait_s: float, say, poll_s: float = 0.5) -> None:
    """Return once every ``host:port`` accepts a TCP connection; raise ``ClusterWaitError`` after ``wait_s``.

    TensorFlow's session creation waits forever, silently, for an absent parameter server; probing the
    ports first turns that into a message while waiting and an error naming the missing one.
    """
    deadline = time.monotonic() + wait_s
    for task, address in enumerate(addresses):
        host, port = address.rsplit(":", 1)
        announced = False
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=min(poll_s * 4, 5.0)).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise ClusterWaitError(
                        f"parameter server {task} at {address} did not answer within {wait_s:g} s; start it with "
                        f"--job ps --task {task} and the same --cluster-spec, or wait longer with --cluster-wait")
                if not announced:
                    say(f"waiting up to {wait_s:g} s for parameter server {task} at {address}")
                    announced = True
                time.sleep(poll_s)


def run_ps(spec: dict, task: int, stop: Optional[threading.Event] = None) -> str:
    """Serve the global variables until SIGINT/SIGTERM; returns the signal's name.

    ``server.join()`` would never return, so the main thread waits on a stop event instead.
    """
    stop = stop or threading.Event()
    server = start_server(spec, "ps", task, session_config(inter_op_threads=2))
    print(f"parameter server {task} serving at {spec['ps'][task]}", flush=True)
    with stop_on_signals(stop) as signals:
        while not stop.wait(1.0):
            pass
    del server
    return signal.Signals(signals.received[0]).name if signals.received else "stopped"


def build_worker_graph(config: A3CConfig, spec: dict, task: int, ob_space, ac_space):
    """Worker ``task``'s graph: the global network on ``/job:ps`` (spread by ``replica_device_setter``),
    its local network on ``/job:worker/task:<task>/cpu:0``. Builds ops only; needs no server.

    Returns:
        (graph, global network, local network, the op listing the uninitialised global variables).
    """
    worker_device = f"/job:worker/task:{task}/cpu:0"
    graph = tf.Graph()
    with graph.as_default():
        # Each process builds the same ops in the same order: without the task in the graph seed, every
        # worker would draw the same action-sampling noise.
        tf1.set_random_seed(config.seed + task)
        setter = tf1.train.replica_device_setter(ps_tasks=len(spec["ps"]), worker_device=worker_device,
                                                 cluster=tf1.train.ClusterSpec(spec))
        glob = GlobalNetwork(policy_class(config.policy), ob_space, ac_space, config,
                             np.random.RandomState(config.seed), device=setter)
        local = LocalNetwork(task, glob, ob_space, ac_space, config, np.random.RandomState(config.seed + 1 + task),
                             worker_device=worker_device)
        glob.finish()
        uninitialized = tf1.report_uninitialized_variables(glob.variables)
    graph.finalize()
    return graph, glob, local, uninitialized


def chief_progress(config: A3CConfig, task: int, stream=None) -> Optional[ProgressLine]:
    """The live progress line for worker ``task``: the chief's (worker 0) when ``stream`` (default stderr)
    is a terminal, else None. The other workers would only repeat the chief's global step, and a
    ``--processes`` role writes to a log file, which must stay free of carriage-return lines."""
    if task != 0:
        return None
    progress = ProgressLine(config.num_timesteps, stream)
    return progress if progress.enabled else None


def run_worker(config: A3CConfig, spec: dict, task: int, stream=None, stop: Optional[threading.Event] = None,
               wait_s: float = CLUSTER_WAIT_S, progress: Optional[ProgressLine] = None) -> Outcome:
    """Train as worker ``task`` of the cluster until the global step reaches ``config.num_timesteps``.

    Checks the settings against the env first (``ValueError``), then starts this worker's server
    (:class:`PortTakenError` when its port is held), then waits at most ``wait_s`` for the parameter
    servers to answer and, on a worker other than the chief, as long again for the chief to initialise
    the global variables (``ClusterWaitError`` otherwise). ``progress``: a live progress line to draw
    (see :func:`chief_progress`).
    """
    stream = stream or sys.stdout
    say = lambda text: print(text, file=stream, flush=True)  # noqa: E731
    ob_space, ac_space = probe_spaces(config)
    check_policy(config, ob_space)
    chief = task == 0
    filters = ["/job:ps", f"/job:worker/task:{task}"]
    # Before the wait: a taken port is this worker's own problem, reported at once.
    server = start_server(spec, "worker", task, session_config(inter_op_threads=2, device_filters=filters))
    wait_for_parameter_servers(spec["ps"], wait_s, say)
    graph, glob, local, uninitialized = build_worker_graph(config, spec, task, ob_space, ac_space)
    sess = tf1.Session(server.target, graph=graph,
                       config=session_config(2, device_filters=filters, operation_timeout_s=OPERATION_TIMEOUT_S))
    env = None
    leave_open = False
    try:
        sess.run(local.initializer)
        ready = lambda: not sess.run(uninitialized).size and glob.is_ready(sess)  # noqa: E731
        if chief and not ready():
            start, _ = prepare_global(sess, glob, config, say)
        else:
            # A restarted chief finds the variables ready on a live parameter server and goes on from them.
            deadline = time.monotonic() + wait_s
            while not ready():
                if time.monotonic() > deadline:
                    raise ClusterWaitError(f"the global variables were not ready within {wait_s:g} s; "
                                           f"is worker 0 (the chief) running? its log says why not")
                time.sleep(0.5)
            start = int(sess.run(glob.step))
        say(f"worker {task}{' (chief)' if chief else ''} starts at global step {start:,}")
        env = WorkerEnv(config.env_id, config.seed + task, config.noop_max, config.action_set)
        worker = Worker(local, glob, env, config, sess)
        log_dir = config.log_dir if chief else os.path.join(config.log_dir, f"worker-{task}")
        logger = Logger(log_dir, stream=stream, tensorboard=chief, env_id=config.env_id, resume_step=start)
        try:
            settings = run_settings(config)
            save = (lambda: checkpoints.save(sess, glob, config.save_path, settings)) if chief else None
            coordinator = Coordinator(config, logger, start, save, lambda: int(sess.run(glob.step)), progress,
                                      stream)
            return coordinator.run([worker], stop or threading.Event())
        finally:
            logger.close()
    except (StopNow, WorkerError) as exc:
        # The worker thread may still be inside an env step or a session call, and closing either under
        # it can crash the process, which exits right after this anyway.
        leave_open = isinstance(exc, StopNow) or bool(exc.stuck)
        raise
    finally:
        if not leave_open:
            if env is not None:
                env.close()
            sess.close()
