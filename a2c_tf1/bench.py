"""Speed benchmark: ``python -m a2c_tf1.bench [--env ID] [--nenvs 16] [--nsteps 5] [--seconds 15]
[--env-stack ale|gymnasium] [--a3c]``.

Measures in one process, one after the other: the env alone (random actions), the model alone (nsteps
step calls on [nenvs] + one train call on [nenvs*nsteps]), and full training (Runner + train). A
synchronous A2C cannot beat the serial limit 1 / (1/env + 1/model); the ratio of training speed to that
limit is the figure of merit, since absolute speeds drift between (shared, noisy) machines.

``--a3c`` then measures, in the same run, A3C's global steps per second with one actor-learner thread
per CPU this process may run on (as many as A3C training starts) and with 2 worker processes and a
parameter server (a2c_tf1/a3c/bench.py).
"""
from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time

import numpy as np

from a2c_tf1.agent import Agent
from a2c_tf1.envs import STACKS, make_vec_env
from a2c_tf1.logger import Logger
from a2c_tf1.policies import CnnPolicy
from a2c_tf1.train import learn


def _timed(run_once, seconds: float, steps_per_call: int) -> float:
    run_once()  # warm-up: graph optimisation, env threads
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        run_once()
        calls += 1
    return calls * steps_per_call / (time.perf_counter() - start)


def measure(env_id: str, nenvs: int, nsteps: int, seconds: float, stack: str = "ale") -> dict:
    env = make_vec_env(env_id, nenvs, seed=0, stack=stack)
    env.reset()
    rng = np.random.default_rng(0)
    nact = env.action_space.n
    env_sps = _timed(lambda: env.step(rng.integers(0, nact, size=nenvs)), seconds, nenvs)

    agent = Agent(CnnPolicy, env.observation_space, env.action_space, nenvs, nsteps, 4)
    step_obs = rng.integers(0, 256, (nenvs, 84, 84, 4), dtype=np.uint8)
    batch_obs = rng.integers(0, 256, (nenvs * nsteps, 84, 84, 4), dtype=np.uint8)
    returns = rng.normal(size=nenvs * nsteps).astype(np.float32)
    actions = rng.integers(0, nact, nenvs * nsteps).astype(np.int32)
    values = np.zeros(nenvs * nsteps, np.float32)

    def model_update():
        for _ in range(nsteps):
            agent.step(step_obs)
        agent.value(step_obs)
        agent.train(batch_obs, returns, actions, values)

    model_sps = _timed(model_update, seconds, nenvs * nsteps)

    updates = max(int(seconds * min(env_sps, model_sps) / (nenvs * nsteps) / 2), 10)
    with tempfile.TemporaryDirectory() as log_dir:
        logger = Logger(log_dir, stream=io.StringIO(), tensorboard=False)
        learn(agent, env, 2 * nenvs * nsteps, logger, nsteps=nsteps)  # warm-up
        start = time.perf_counter()
        learn(agent, env, updates * nenvs * nsteps, logger, nsteps=nsteps, log_interval=10**9)
        train_sps = updates * nenvs * nsteps / (time.perf_counter() - start)
    env.close()
    agent.close()
    limit = 1.0 / (1.0 / env_sps + 1.0 / model_sps)
    return {"env_steps_per_s": env_sps, "model_steps_per_s": model_sps, "serial_limit_steps_per_s": limit,
            "train_steps_per_s": train_sps, "train_over_limit": train_sps / limit,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m a2c_tf1.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="BreakoutNoFrameskip-v4")
    parser.add_argument("--nenvs", type=int, default=16)
    parser.add_argument("--nsteps", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=15.0, help="per measurement")
    parser.add_argument("--env-stack", default="ale", choices=STACKS,
                        help="Atari envs: ale-py's C++ vector env or baselines' wrappers in gymnasium")
    parser.add_argument("--a3c", action="store_true",
                        help="also measure A3C: threads (one per usable CPU) and 2 worker processes")
    args = parser.parse_args()
    result = measure(args.env, args.nenvs, args.nsteps, args.seconds, args.env_stack)
    print(f"{args.env}, {args.nenvs} envs, nsteps {args.nsteps}, env stack {args.env_stack}")
    print(f"env only             {result['env_steps_per_s']:8.0f} steps/s")
    print(f"model only           {result['model_steps_per_s']:8.0f} steps/s  (step x{args.nsteps} + value + train)")
    print(f"serial limit         {result['serial_limit_steps_per_s']:8.0f} steps/s  1/(1/env + 1/model)")
    print(f"training end to end  {result['train_steps_per_s']:8.0f} steps/s")
    print(f"training / limit     {result['train_over_limit']:8.2f}")
    print(f"peak RSS             {result['peak_rss_mib']:8.0f} MiB")
    if args.a3c:
        from a2c_tf1.a3c.bench import measure_processes, measure_threads
        from a2c_tf1.a3c.config import default_threads

        threads = default_threads()  # as many threads as A3C training would start here
        a3c_threads = measure_threads(args.env, threads, args.seconds)
        a3c_processes = measure_processes(args.env, 2, args.seconds)
        print(f"A3C, {threads} threads      {a3c_threads:8.0f} steps/s  (global steps; t_max 5, batch 1 per step)")
        print(f"A3C, 2 processes     {a3c_processes:8.0f} steps/s  (parameter server + 2 workers on loopback)")
        print(f"A3C threads / A2C    {a3c_threads / result['train_steps_per_s']:8.2f}")


if __name__ == "__main__":
    main()
