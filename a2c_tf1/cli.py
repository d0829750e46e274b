"""Command line shared by ``run_breakout.py`` and ``python -m a2c_tf1``."""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from typing import Optional

from a2c_tf1.cli_common import (CliError, OneLineParser, UsageError, add_evaluation_flags, check_evaluation_inputs,
                                check_output_folder, list_presets, non_negative_float, non_negative_int,
                                positive_float, positive_int, resolve_evaluation_flags,
                                settings_mismatch_message, unit_float, yes_no)
from a2c_tf1.config import GENERATIONS, OPTIMIZERS, POLICY_NAMES, PRESETS, TrainConfig, image_policy_error
from a2c_tf1.schedules import SCHEDULES


# flag -> (config field, type, help)
_FLAGS = {
    "--env": ("env_id", str, "gymnasium env id (default BreakoutNoFrameskip-v4; CartPole-v1 with --policy mlp)"),
    "--num-timesteps": ("num_timesteps", positive_int, "environment steps to train in total (default 10M)"),
    "--nenvs": ("nenvs", positive_int, "parallel environments (default 8)"),
    "--nsteps": ("nsteps", positive_int, "steps per env per update (default 5)"),
    "--nstack": ("nstack", positive_int, "frames stacked per observation (default 4 for cnn, 1 for mlp)"),
    "--seed": ("seed", non_negative_int, "random seed (default 0)"),
    "--lr": ("lr", positive_float, "initial learning rate (default 7e-4)"),
    "--lrschedule": ("lrschedule", str, f"lr decay: {', '.join(SCHEDULES)} (default linear)"),
    "--policy": ("policy", str, "cnn, cnn-2013, mlp, lstm, lnlstm or small-lstm (default cnn)"),
    "--optimizer": ("optimizer", str, "rmsprop or adam (default rmsprop)"),
    "--baselines": ("baselines", str, "baselines code generation: 2017 (value loss /2, policy head init 1.0) or "
                                      "2018 (no /2, init 0.01, the published benchmark's code) (default 2018)"),
    "--serve": ("serve", yes_no, "yes: FIRE is added to the first action of every life in games that need "
                                  "FIRE to serve, as baselines served; no: the agent serves (default yes)"),
    "--frame": ("frame", str, "Atari frames: nature (84x84) or kungfu42 (default nature)"),
    "--env-stack": ("env_stack", str, "Atari envs: ale (ale-py's C++ vector env) or gymnasium (baselines' "
                                      "wrappers in gymnasium, FireReset's hidden FIRE, RIGHT; slower) (default ale)"),
    "--gamma": ("gamma", unit_float, "discount factor (default 0.99)"),
    "--ent-coef": ("ent_coef", non_negative_float, "entropy bonus weight (default 0.01)"),
    "--vf-coef": ("vf_coef", non_negative_float, "value loss weight (default 0.5)"),
    "--max-grad-norm": ("max_grad_norm", positive_float, "global gradient-norm clip (default 0.5)"),
    "--noop-max": ("noop_max", non_negative_int, "max no-op frames at Atari game start (default 30)"),
    "--models-dir": ("models_dir", str, "where <EnvId>.save checkpoints live (default models)"),
    "--log-dir": ("log_dir", str, "progress.csv, monitor.csv, TensorBoard events (default logs/<EnvId>)"),
    "--log-interval": ("log_interval", positive_int, "updates between log rows (default 100)"),
    "--save-interval": ("save_interval", positive_int, "updates between checkpoints (default 1000)"),
}


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=prog, description="Train (and resume) A2C, baselines' TF1 algorithm, on Atari or gymnasium envs.")
    parser.add_argument("--preset", default="breakout", help=f"named settings: {', '.join(PRESETS)} (default breakout)")
    for flag, (field, kind, text) in _FLAGS.items():
        parser.add_argument(flag, dest=field, type=kind, default=None, help=text)
    add_evaluation_flags(parser, "evaluation (loads <models-dir>/<EnvId>.save; never trains or saves)")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Preset values, then the flags given next to it."""
    if args.preset not in PRESETS:
        raise UsageError(f"unknown preset {args.preset!r}; known presets: {', '.join(PRESETS)}")
    values = dict(PRESETS[args.preset].overrides)
    values.update({field: getattr(args, field) for field, _, _ in _FLAGS.values() if getattr(args, field) is not None})
    config = TrainConfig(**values).resolved()
    if config.lrschedule not in SCHEDULES:
        raise UsageError(f"unknown --lrschedule {config.lrschedule!r}; choose one of {', '.join(SCHEDULES)}")
    if config.policy not in POLICY_NAMES:
        raise UsageError(f"unknown --policy {config.policy!r}; choose one of {', '.join(POLICY_NAMES)}")
    if config.optimizer not in OPTIMIZERS:
        raise UsageError(f"unknown --optimizer {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if config.baselines not in GENERATIONS:
        raise UsageError(f"unknown --baselines {config.baselines!r}; choose one of {', '.join(GENERATIONS)}")
    from a2c_tf1.envs import FRAMES, STACKS

    if config.frame not in FRAMES:
        raise UsageError(f"unknown --frame {config.frame!r}; choose one of {', '.join(FRAMES)}")
    if config.env_stack not in STACKS:
        raise UsageError(f"unknown --env-stack {config.env_stack!r}; choose one of {', '.join(STACKS)}")
    return config


# Settings that do not change what a run learns: where it writes, and how often.
_NOT_RUN_SETTINGS = ("models_dir", "log_dir", "log_interval", "save_interval")


def run_settings(config: TrainConfig) -> dict:
    """What a checkpoint records of the run that wrote it, so a resume can check it goes on the same way."""
    values = dataclasses.asdict(config)
    return {name: value for name, value in values.items() if name not in _NOT_RUN_SETTINGS}


def train_command(config: TrainConfig) -> int:
    from a2c_tf1.envs import UnknownEnvError, make_vec_env

    check_output_folder("--models-dir", config.models_dir)
    check_output_folder("--log-dir", config.log_dir)

    # The env first: an unknown game or a policy that cannot read its observations is refused before
    # TensorFlow is imported (seconds).
    try:
        env = make_vec_env(config.env_id, config.nenvs, config.seed, noop_max=config.noop_max, frame=config.frame,
                           serve=config.serve, stack=config.env_stack)
    except UnknownEnvError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        error = image_policy_error(config.policy, config.env_id, env.observation_space.shape)
        if error:
            raise CliError(error)
        from a2c_tf1.agent import STATE_SUFFIX, Agent, SettingsMismatch, TrainingDiverged
        from a2c_tf1.checkpoint import CheckpointError
        from a2c_tf1.logger import Logger, ProgressLine
        from a2c_tf1.policies import POLICIES
        from a2c_tf1.train import Interrupted, learn

        agent = Agent(POLICIES[config.policy], env.observation_space, env.action_space, config.nenvs, config.nsteps,
                      config.nstack, ent_coef=config.ent_coef, vf_coef=config.vf_coef,
                      max_grad_norm=config.max_grad_norm, lr=config.lr, alpha=config.alpha, epsilon=config.epsilon,
                      total_timesteps=config.num_timesteps, lrschedule=config.lrschedule, seed=config.seed,
                      optimizer=config.optimizer, baselines=config.baselines)
        start, settings = 0, run_settings(config)
        if os.path.exists(config.save_path) or os.path.exists(config.save_path + STATE_SUFFIX):
            try:
                # num_timesteps may grow to train further (the lr schedule then stretches to the new end)
                start, note = agent.resume(config.save_path, settings, ignore=("num_timesteps",))
            except SettingsMismatch as exc:
                raise CliError(settings_mismatch_message(exc, config.save_path, _FLAGS)) from None
            except CheckpointError as exc:
                raise CliError(f"cannot resume: {exc}. Move the file away or pick another --models-dir") from None
            if note:
                print(note, flush=True)
            print(f"resuming from {config.save_path} at timestep {start:,}", flush=True)
        if start >= config.num_timesteps:
            print(f"{config.save_path} already has {start:,} of {config.num_timesteps:,} timesteps; "
                  f"raise --num-timesteps to train further, or give another --models-dir to train from step 0; "
                  f"--evaluate plays it", flush=True)
            return 0
        try:  # both folders now, so that one that cannot be made fails here, not at the first checkpoint
            os.makedirs(config.models_dir, exist_ok=True)
            logger = Logger(config.log_dir, env_id=config.env_id, resume_step=start)
        except OSError as exc:
            raise CliError(f"cannot write in {exc.filename or config.log_dir}: {exc.strerror}; "
                           f"give another --models-dir or --log-dir") from None
        try:
            reached = learn(agent, env, config.num_timesteps, logger, nsteps=config.nsteps, nstack=config.nstack,
                            gamma=config.gamma, log_interval=config.log_interval, save_path=config.save_path,
                            save_interval=config.save_interval, start_timestep=start,
                            progress=ProgressLine(config.num_timesteps), run_settings=settings)
        except Interrupted as stop:
            print(f"\ninterrupted at timestep {stop.timestep:,} ({signal.Signals(stop.signum).name}); "
                  f"saved {config.save_path}. "
                  f"Run the same command to resume.", file=sys.stderr)
            return 128 + stop.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
        except TrainingDiverged as exc:
            kept = f"{config.save_path} still holds the last good weights" if os.path.exists(config.save_path) \
                else "no checkpoint was written"
            raise CliError(f"training diverged ({exc}); {kept}; try a lower --lr") from None
        finally:
            logger.close()
        print(f"trained to timestep {reached:,}; saved {config.save_path}; logs in {config.log_dir}", flush=True)
        return 0
    finally:
        env.close()


def evaluate_command(config: TrainConfig, args: argparse.Namespace) -> int:
    check_evaluation_inputs(config.env_id, args.video, config.save_path,
                            f"a folder holding {os.path.basename(config.save_path)}", args.scores)
    from a2c_tf1.agent import Agent
    from a2c_tf1.checkpoint import CheckpointError
    from a2c_tf1.evaluate import evaluate, make_eval_env
    from a2c_tf1.policies import POLICIES

    env = make_eval_env(config.env_id, config.seed, config.noop_max, config.frame, serve=config.serve)
    agent = Agent(POLICIES[config.policy], env.observation_space, env.action_space, 1, 1, config.nstack,
                  seed=config.seed, baselines=config.baselines)
    try:
        agent.load(config.save_path)
    except CheckpointError as exc:
        env.close()
        raise CliError(f"cannot evaluate: {exc}") from None
    try:
        result = evaluate(agent, env, config.env_id, args.episodes, config.nstack,
                          deterministic=args.deterministic, video_path=args.video, max_steps=args.max_steps,
                          scores_path=args.scores)
    finally:
        agent.close()
    return 130 if result["interrupted"] else 0  # the shell's code for Ctrl-C


def main(argv: Optional[list[str]] = None, prog: Optional[str] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = prog or os.path.basename(sys.argv[0])
    try:
        if argv[:1] == ["presets"]:
            return list_presets(PRESETS)
        args = build_parser(prog).parse_args(argv)
        resolve_evaluation_flags(args)
        config = config_from_args(args)
        return evaluate_command(config, args) if args.evaluate else train_command(config)
    except CliError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
