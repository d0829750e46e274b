"""``python -m a2c_tf1.a3c``: train A3C in threads, as one role of a cluster, or as a supervised local
cluster of processes; list the presets; play a trained agent.

Settings that cannot work (a bad flag, an unknown env or preset, a policy that cannot read the env's
observations, an action set the game does not have, a bad cluster spec) are one line and exit code
:data:`~a2c_tf1.a3c.launch.EXIT_BAD_SETTINGS`, before any file or process is made, so that the
``--processes`` launcher knows not to start such a role again."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Optional

from a2c_tf1.a3c.config import A3C_POLICIES, HEAD_INITS, LR_SCHEDULES, OPTIMIZERS, A3CConfig
from a2c_tf1.a3c.presets import ATARI_BASE, PRESETS, VECTOR_BASE
from a2c_tf1.cli_common import (CliError, OneLineParser, add_evaluation_flags, check_evaluation_inputs,
                                check_output_folder, list_presets, non_negative_float, non_negative_int,
                                positive_float, positive_int, resolve_evaluation_flags,
                                settings_mismatch_message, unit_float)

PROG = "python -m a2c_tf1.a3c"


class SettingsError(CliError):
    """The settings cannot work, whatever is retried: one line, exit code ``EXIT_BAD_SETTINGS``."""


class _SettingsParser(OneLineParser):
    def error(self, message: str):  # a bad flag is a bad setting: the same one line, the same exit code
        raise SettingsError(f"{message} (see --help)")


def _action_set(text: str) -> tuple:
    try:
        actions = tuple(int(a) for a in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of action numbers") from None
    if not actions or min(actions) < 0 or len(set(actions)) != len(actions):
        raise argparse.ArgumentTypeError(f"{text!r} must list distinct action numbers >= 0")
    return actions


def _choice(name: str, choices: tuple):
    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"unknown {name} {text!r}; choose one of {', '.join(choices)}")
        return text
    return parse


# flag -> (config field, type, help)
_FLAGS = {
    "--env": ("env_id", str, "gymnasium env id (ALE ids get baselines' Atari wrappers)"),
    "--policy": ("policy", _choice("--policy", A3C_POLICIES), f"{', '.join(A3C_POLICIES)}"),
    "--threads": ("threads", positive_int, "actor-learner threads (default: one per core)"),
    "--num-timesteps": ("num_timesteps", positive_int, "global environment steps in total"),
    "--seed": ("seed", non_negative_int, "random seed (worker i's env: seed + i)"),
    "--t-max": ("t_max", positive_int, "steps per rollout"),
    "--gamma": ("gamma", unit_float, "discount factor"),
    "--gae-lambda": ("gae_lambda", unit_float, "GAE lambda (1.0: n-step advantages)"),
    "--lr": ("lr", positive_float, "initial learning rate"),
    "--lrschedule": ("lrschedule", _choice("--lrschedule", LR_SCHEDULES), f"{', '.join(LR_SCHEDULES)}"),
    "--optimizer": ("optimizer", _choice("--optimizer", OPTIMIZERS), "rmsprop (shared statistics) or adam"),
    "--alpha": ("alpha", unit_float, "RMSProp decay"),
    "--epsilon": ("epsilon", positive_float, "RMSProp epsilon"),
    "--ent-coef": ("ent_coef", non_negative_float, "entropy bonus weight"),
    "--vf-coef": ("vf_coef", non_negative_float, "value loss weight"),
    "--max-grad-norm": ("max_grad_norm", positive_float, "global gradient-norm clip per worker update"),
    "--head-init": ("head_init", _choice("--head-init", HEAD_INITS), "orthogonal or normc (0.01/1.0)"),
    "--action-set": ("action_set", _action_set, "comma-separated game actions the policy picks from"),
    "--nstack": ("nstack", positive_int, "frames stacked per observation (default 4 for Atari, else 1)"),
    "--noop-max": ("noop_max", non_negative_int, "max no-op frames at Atari game start"),
    "--models-dir": ("models_dir", str, "checkpoints go to <models-dir>/a3c/<EnvId>.save (default models)"),
    "--log-dir": ("log_dir", str, "progress.csv, monitor.csv, TensorBoard (default logs/a3c/<EnvId>)"),
    "--log-interval": ("log_interval", positive_int, "global steps between log rows"),
    "--save-interval": ("save_interval", positive_int, "global steps between checkpoints"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = _SettingsParser(prog=PROG, description=(
        "Train A3C: actor-learner threads in this process (default), one role of a TensorFlow cluster "
        "(--job/--task/--cluster-spec) or a supervised local cluster (--processes N). "
        f"`{PROG} presets` lists the presets. Without --preset, ALE ids get {ATARI_BASE}'s settings and other "
        f"envs {VECTOR_BASE}'s, with one worker per core."))
    parser.add_argument("--preset", default=None, help=f"named settings: {', '.join(PRESETS)}")
    for flag, (field, kind, text) in _FLAGS.items():
        parser.add_argument(flag, dest=field, type=kind, default=None, help=text)
    cluster = parser.add_argument_group("processes and machines (TensorFlow's distributed runtime)")
    cluster.add_argument("--processes", type=positive_int, default=None,
                         help="run a parameter server and N worker processes on loopback ports, supervised")
    cluster.add_argument("--job", choices=("ps", "worker"), default=None, help="run one role of a cluster")
    cluster.add_argument("--task", type=non_negative_int, default=None, help="index of the role in its job")
    cluster.add_argument("--cluster-spec", default=None, help='JSON file: {"ps": ["host:port"], "worker": [...]}')
    cluster.add_argument("--cluster-wait", type=positive_float, default=None, metavar="SECONDS",
                         help="how long a worker waits for the parameter servers and the chief (default 300)")
    add_evaluation_flags(parser, "evaluation (loads <models-dir>/a3c/<EnvId>.save; never trains)")
    return parser


def config_from_args(args: argparse.Namespace) -> A3CConfig:
    """The preset (or the base for the env's kind), then the flags given next to it, resolved."""
    from a2c_tf1.envs import UnknownEnvError, is_atari

    if args.preset is not None and args.preset not in PRESETS:
        raise SettingsError(f"unknown preset {args.preset!r}; known presets: {', '.join(PRESETS)}")
    flags = {field: getattr(args, field) for field, _, _ in _FLAGS.values() if getattr(args, field) is not None}
    try:
        env_id = flags.get("env_id") or (PRESETS[args.preset].overrides.get("env_id", A3CConfig.env_id)
                                         if args.preset else A3CConfig.env_id)
        atari = is_atari(env_id)
    except UnknownEnvError as exc:
        raise SettingsError(str(exc)) from None
    preset = args.preset or (ATARI_BASE if atari else VECTOR_BASE)
    values = dict(PRESETS[preset].overrides)
    if args.preset is None:  # the base's settings for the env's kind, with one worker per core
        values.pop("env_id", None)
        values.pop("threads", None)
    values.update(flags)
    if values.get("action_set") is not None and not atari:
        raise SettingsError("--action-set picks among an Atari game's actions; drop it for " + env_id)
    return A3CConfig(**values).resolved(image_observations=atari)


def check_settings(config: A3CConfig) -> None:
    """SettingsError when the env refuses the settings: an action set it lacks, a non-discrete action
    space, a policy that cannot read its observations. Makes one env and closes it; writes nothing."""
    from a2c_tf1.a3c.envs import check_policy, probe_spaces

    try:
        ob_space, _ = probe_spaces(config)
        check_policy(config, ob_space)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def _role_args(argv: list[str], config: A3CConfig) -> list[str]:
    """The command line without --processes, with the resolved folders, for every role of the cluster."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--processes":
            skip = True
            continue
        if arg.startswith("--processes="):
            continue
        out.append(arg)
    return out + ["--models-dir", config.models_dir, "--log-dir", config.log_dir]


def _print_worker_error(exc) -> None:
    if getattr(exc, "details", ""):
        sys.stderr.write(exc.details)


def _save_failure(exc: Exception) -> CliError:
    """One line for a run stopped by a failed save: NaN weights (``TrainingDiverged``) or an ``OSError``."""
    from a2c_tf1.a3c.worker import TrainingDiverged

    if isinstance(exc, TrainingDiverged):
        return CliError(f"training diverged: {exc}")
    return CliError(f"cannot write the checkpoint or the logs: {exc}; the last checkpoint on disk is intact")


def train_command(config: A3CConfig) -> int:
    from a2c_tf1.a3c.train import WorkerError, train_threads
    from a2c_tf1.a3c.worker import TrainingDiverged
    from a2c_tf1.agent import SettingsMismatch
    from a2c_tf1.checkpoint import CheckpointError
    from a2c_tf1.logger import Logger, ProgressLine

    logger = Logger(config.log_dir, env_id=config.env_id)
    try:
        outcome = train_threads(config, logger, progress=ProgressLine(config.num_timesteps))
    except WorkerError as exc:
        _print_worker_error(exc)
        raise CliError(f"{exc}; {config.save_path} holds the last checkpoint" if os.path.exists(config.save_path)
                       else str(exc)) from None
    except SettingsMismatch as exc:
        raise CliError(settings_mismatch_message(exc, config.save_path, _FLAGS)) from None
    except CheckpointError as exc:
        raise CliError(f"cannot resume: {exc}. Move the file away or pick another --models-dir") from None
    except (TrainingDiverged, OSError) as exc:
        raise _save_failure(exc) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    finally:
        logger.close()
    return _report(outcome, config)


def _report(outcome, config: A3CConfig, saves: bool = True) -> int:
    where = f"saved {config.save_path}; " if saves else ""
    if outcome.reason != "done":
        print(f"\nstopped by {outcome.reason} at global step {outcome.global_step:,}; {where}"
              f"run the same command to resume", file=sys.stderr, flush=True)
        return 130 if outcome.reason == "SIGINT" else 143
    print(f"trained to global step {outcome.global_step:,}; {where}logs in {config.log_dir}", flush=True)
    return 0


def load_role_spec(args: argparse.Namespace) -> dict:
    """The cluster spec of ``--job``/``--task``/``--cluster-spec``, checked; SettingsError otherwise."""
    from a2c_tf1.a3c.cluster_spec import ClusterSpecError, load_cluster_spec

    if args.task is None or args.cluster_spec is None:
        raise SettingsError("--job needs --task and --cluster-spec")
    try:
        return load_cluster_spec(args.cluster_spec, args.job, args.task)
    except ClusterSpecError as exc:
        raise SettingsError(str(exc)) from None


def role_command(config: A3CConfig, args: argparse.Namespace, spec: dict) -> int:
    from a2c_tf1.a3c.cluster import (CLUSTER_WAIT_S, ClusterWaitError, PortTakenError, chief_progress, run_ps,
                                     run_worker)
    from a2c_tf1.a3c.launch import EXIT_PORT_TAKEN
    from a2c_tf1.a3c.train import WorkerError
    from a2c_tf1.a3c.worker import TrainingDiverged
    from a2c_tf1.checkpoint import CheckpointError

    try:
        if args.job == "ps":
            run_ps(spec, args.task)
            return 0
        outcome = run_worker(config, spec, args.task, wait_s=args.cluster_wait or CLUSTER_WAIT_S,
                             progress=chief_progress(config, args.task))
    except PortTakenError as exc:  # an exit code of its own: the launcher moves the cluster to fresh ports
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_PORT_TAKEN
    except ClusterWaitError as exc:
        raise CliError(str(exc)) from None
    except (TrainingDiverged, OSError) as exc:
        raise _save_failure(exc) from None
    except WorkerError as exc:
        _print_worker_error(exc)
        raise CliError(str(exc)) from None
    except CheckpointError as exc:  # an exit code of its own: the launcher does not restart such a worker
        from a2c_tf1.a3c.launch import EXIT_CANNOT_RESUME
        from a2c_tf1.agent import SettingsMismatch

        text = (settings_mismatch_message(exc, config.save_path, _FLAGS) if isinstance(exc, SettingsMismatch)
                else f"cannot resume: {exc}")
        print(f"{PROG}: error: {text}", file=sys.stderr)
        return EXIT_CANNOT_RESUME
    return _report(outcome, config, saves=args.task == 0)


def launch_command(config: A3CConfig, processes: int, argv: list[str]) -> int:
    from a2c_tf1.a3c.launch import Launcher

    return Launcher(processes, _role_args(argv, config), config.log_dir).run()


def _check_mode(args: argparse.Namespace) -> None:
    """SettingsError for flags of one way to run given with another."""
    if args.processes is not None and (args.job is not None or args.task is not None or args.cluster_spec is not None):
        raise SettingsError("--processes starts its own roles; drop --job/--task/--cluster-spec")
    if args.processes is None and args.job is None and (
            args.task is not None or args.cluster_spec is not None or args.cluster_wait is not None):
        raise SettingsError("--task, --cluster-spec and --cluster-wait go with --job ps|worker")
    # Each worker process runs one actor-learner thread, so --threads would be silently ignored there.
    if args.threads is not None and args.processes is not None:
        raise SettingsError("--threads does not go with --processes: each worker process runs one actor-learner "
                            "thread; drop --threads and choose the number of workers with --processes N")
    if args.threads is not None and args.job is not None:
        raise SettingsError("--threads does not go with --job: a worker process runs one actor-learner thread and "
                            "a parameter server none; drop --threads and list one address per worker in "
                            "--cluster-spec (or use --processes N on one machine)")


def evaluate_command(config: A3CConfig, args: argparse.Namespace) -> int:
    check_evaluation_inputs(config.env_id, args.video, config.save_path,
                            f"the folder holding a3c/{os.path.basename(config.save_path)}", args.scores)
    from a2c_tf1.a3c.play import load_player
    from a2c_tf1.checkpoint import CheckpointError
    from a2c_tf1.evaluate import evaluate

    try:
        agent, env = load_player(config)
    except CheckpointError as exc:
        raise CliError(f"cannot evaluate: {exc}") from None
    try:
        result = evaluate(agent, env, config.env_id, args.episodes, config.nstack, deterministic=args.deterministic,
                          video_path=args.video, max_steps=args.max_steps, scores_path=args.scores)
    finally:
        agent.close()
    return 130 if result["interrupted"] else 0  # the shell's code for Ctrl-C


def run_training(args: argparse.Namespace, config: A3CConfig, argv: list[str]) -> int:
    """Every setting is checked before the first file or process is made."""
    _check_mode(args)
    spec = load_role_spec(args) if args.job is not None else None
    try:  # a parameter server writes nothing; only the chief (worker 0) writes checkpoints
        if args.job != "ps":
            check_output_folder("--log-dir", config.log_dir)
        if args.job is None or (args.job == "worker" and args.task == 0):
            check_output_folder("--models-dir", config.models_dir)
    except CliError as exc:
        raise SettingsError(str(exc)) from None
    check_settings(config)
    if args.processes is not None:
        return launch_command(config, args.processes, argv)
    if spec is not None:
        return role_command(config, args, spec)
    return train_command(config)


def _exit_at_once(exc) -> None:
    """A second SIGINT/SIGTERM: worker threads may be inside an env step or a session call, and waiting
    for the interpreter to wind them down is what the second signal asks not to do."""
    print(f"\n{PROG}: {exc}; nothing more was saved, the last checkpoint on disk is intact", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130 if exc.signum == signal.SIGINT else 143)


def main(argv: Optional[list[str]] = None) -> int:
    from a2c_tf1.a3c.launch import EXIT_BAD_SETTINGS
    from a2c_tf1.a3c.signals import StopNow

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["presets"]:
            return list_presets(PRESETS)
        args = build_parser().parse_args(argv)
        resolve_evaluation_flags(args)
        config = config_from_args(args)
        if args.evaluate:
            return evaluate_command(config, args)
        return run_training(args, config, argv)
    except CliError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS if isinstance(exc, SettingsError) else exc.exit_code
    except StopNow as exc:
        _exit_at_once(exc)
    except KeyboardInterrupt:  # before the workers started (once they run, Ctrl-C stops them and saves)
        print(f"\n{PROG}: interrupted before training started; nothing was written", file=sys.stderr)
        return 130
