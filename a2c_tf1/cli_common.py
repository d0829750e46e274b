"""What both command lines (A2C and A3C) share: the argument types, the parser whose errors are one
line, the evaluation flags and their checks, and the preset lister."""
from __future__ import annotations

import argparse
import math
import os
from typing import Optional


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code ``exit_code``."""

    exit_code = 1


class UsageError(CliError):
    """A name the command line does not know (a preset, a choice, an env id): exit code 2, as argparse's."""

    exit_code = 2


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print the whole usage block first
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        try:
            value = float(text)  # allow 1e6
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not value.is_integer():
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        value = int(value)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    return 0 if text.strip() == "0" else positive_int(text)


FLOAT32_MAX = 3.4028234663852886e38  # the graph computes in float32


def float_in_range(text: str, low: float, high: float = math.inf, low_allowed: bool = True) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    too_low = value < low or (value == low and not low_allowed)
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX or too_low or value > high:
        bounds = f"{'>=' if low_allowed else '>'} {low:g}" + (f" and <= {high:g}" if math.isfinite(high) else "")
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number {bounds}")
    return value


def positive_float(text: str) -> float:
    return float_in_range(text, 0.0, low_allowed=False)


def non_negative_float(text: str) -> float:
    return float_in_range(text, 0.0)


def unit_float(text: str) -> float:
    return float_in_range(text, 0.0, 1.0)


def yes_no(text: str) -> bool:
    if text.lower() not in ("yes", "no"):
        raise argparse.ArgumentTypeError(f"{text!r} is not yes or no")
    return text.lower() == "yes"


def add_evaluation_flags(parser: argparse.ArgumentParser, title: str) -> None:
    """``--evaluate``, ``--episodes``, ``--video``, ``--scores``, ``--deterministic``, ``--max-steps`` (A2C and
    A3C CLIs)."""
    evaluation = parser.add_argument_group(title)
    evaluation.add_argument("--evaluate", action="store_true", help="play full games with the saved agent")
    evaluation.add_argument("--episodes", type=positive_int, default=None, help="games to play (default 30)")
    evaluation.add_argument("--video", default=None, help="record the first game to PATH.mp4 or PATH.gif")
    evaluation.add_argument("--scores", default=None, metavar="PATH.csv",
                            help="write each game's score and length to PATH.csv (rewritten after every game)")
    evaluation.add_argument("--deterministic", action="store_true", help="take the most probable action")
    evaluation.add_argument("--max-steps", type=positive_int, default=None, help="cap on agent steps per game")


EVALUATION_ONLY_FLAGS = ("episodes", "video", "scores", "deterministic", "max_steps")


def resolve_evaluation_flags(args: argparse.Namespace) -> None:
    """Refuse evaluation flags given without ``--evaluate`` (a training run would silently ignore them);
    fill ``--episodes``'s default of 30 when evaluating."""
    if not args.evaluate:
        given = [name for name in EVALUATION_ONLY_FLAGS if getattr(args, name) not in (None, False)]
        if given:
            flags = " ".join("--" + name.replace("_", "-") for name in given)
            one = len(given) == 1
            raise UsageError(f"{flags} {'goes' if one else 'go'} only with --evaluate; add --evaluate to play the "
                           f"saved agent, or drop {'it' if one else 'them'} to train")
    elif args.episodes is None:
        args.episodes = 30


def check_evaluation_inputs(env_id: str, video: Optional[str], save_path: str, models_dir_hint: str,
                            scores: Optional[str] = None) -> None:
    """One-line errors for ``--evaluate`` (A2C and A3C): an env that is not an ALE game, a video path that is
    neither .mp4 nor .gif, a scores path that is not .csv or is a folder, a missing checkpoint
    (``models_dir_hint`` says what --models-dir should hold)."""
    from a2c_tf1.envs import UnknownEnvError, is_atari

    try:
        atari = is_atari(env_id)
    except UnknownEnvError as exc:
        raise UsageError(str(exc)) from None
    if not atari:
        raise CliError(f"--evaluate plays Atari games; {env_id} is not an ALE id")
    if video and os.path.splitext(video)[1].lower() not in (".mp4", ".gif"):
        raise CliError(f"--video {video!r}: give a path ending in .mp4 or .gif")
    if scores and (not scores.lower().endswith(".csv") or os.path.isdir(scores)):
        raise CliError(f"--scores {scores!r}: give a file path ending in .csv")
    for flag, path in (("--video", video), ("--scores", scores)):
        if path:  # checked now, not after the games were played
            check_output_folder(flag, os.path.dirname(os.path.abspath(path)))
    if not os.path.exists(save_path):
        raise CliError(f"no checkpoint at {save_path}; train first (same flags without --evaluate) "
                       f"or point --models-dir at {models_dir_hint}")


def check_output_folder(flag: str, folder: str) -> None:
    """One-line error, before anything is made, when ``folder`` (given with ``flag``) is a file or lies
    where this user cannot create or write it; creates nothing."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise CliError(f"{flag} {folder!r} is a file, not a folder; give a folder path")
    existing = os.path.abspath(folder)
    while not os.path.exists(existing):  # the nearest ancestor that exists is where the folder gets made
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise CliError(f"{flag} {folder!r}: {existing} is a file, so the folder cannot be made; give another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CliError(f"{flag} {folder!r}: no permission to write in {existing}; give a folder you can write")


def settings_mismatch_message(exc, save_path: str, flags: dict) -> str:
    """One line for a ``SettingsMismatch``: each changed setting as ``--flag saved -> now``, and what to do.

    ``flags``: the command line's flag -> (config field, type, help) table, to name fields by their flags.
    """
    flag_of = {field: flag for flag, (field, _, _) in flags.items()}
    changes = ", ".join(f"{flag_of.get(name, name)} {saved} -> {now}" for name, (saved, now) in exc.differences.items())
    return (f"cannot resume {save_path}: it was trained with other settings ({changes}); run with its "
            f"settings, or pick another --models-dir to start afresh")


def list_presets(presets: dict) -> int:
    """Print one line per preset: its name and description."""
    width = max(len(name) for name in presets)
    for name, preset in presets.items():
        print(f"{name:<{width}}  {preset.description}")
    return 0
