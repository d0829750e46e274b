"""Play full games with a saved agent, report scores and optionally record a video. Never trains or saves."""
from __future__ import annotations

import csv
import sys
from typing import Optional

import numpy as np

from a2c_tf1.agent import Agent
from a2c_tf1.envs import env_spec
from a2c_tf1.envs.atari import make_reference_env
from a2c_tf1.files import atomic_output
from a2c_tf1.logger import ProgressLine
from a2c_tf1.runner import push_frame


def play_game(agent: Agent, env, nstack: int, deterministic: bool, max_steps: Optional[int],
              frames: Optional[list]) -> tuple[float, int]:
    """One full game (all lives) with training's semantics: the frame stack is zeroed at a life loss.

    Returns:
        (raw score, agent steps).
    """
    obs, _ = env.reset()
    stack = np.zeros(obs.shape[:-1] + (obs.shape[-1] * nstack,), dtype=obs.dtype)
    state, mask = agent.initial_state, np.zeros(1, np.float32)  # recurrent policies only
    score, steps = 0.0, 0
    while True:
        stack = push_frame(stack, obs)
        if frames is not None:
            frames.append(env.unwrapped.ale.getScreenRGB())
        batch = stack[None]
        if agent.recurrent:
            if deterministic:
                actions, state = agent.greedy_step(batch, state, mask)
            else:
                actions, _, state = agent.step(batch, state, mask)
        else:
            actions = agent.greedy_step(batch) if deterministic else agent.step(batch)[0]
        obs, reward, terminated, truncated, _ = env.step(int(actions[0]))
        mask = np.array([float(terminated)], np.float32)
        score += reward
        steps += 1
        if env.unwrapped.ale.game_over() or truncated or (max_steps is not None and steps >= max_steps):
            return score, steps
        if terminated:  # a life was lost: training zeroed the stack here too
            stack[:] = 0


def write_video(path: str, frames: list, fps: float) -> None:
    """mp4 through imageio-ffmpeg's bundled encoder, GIF otherwise; written to a temp file then renamed."""
    import imageio.v2 as imageio

    with atomic_output(path) as tmp:
        if path.lower().endswith(".gif"):
            imageio.mimsave(tmp, frames, duration=1000.0 / fps, loop=0)
        else:
            with imageio.get_writer(tmp, fps=fps, macro_block_size=1) as writer:
                for frame in frames:
                    writer.append_data(frame)


def write_scores(path: str, scores: list[float], lengths: list[int]) -> None:
    """Every game so far as ``game,score,length`` rows (game counts from 0), written atomically: a kill during
    a long evaluation leaves the games finished before it."""
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["game", "score", "length"])
        writer.writerows((game, f"{score:.10g}", length) for game, (score, length) in enumerate(zip(scores, lengths)))


def make_eval_env(env_id: str, seed: int, noop_max: int = 30, frame: str = "nature", serve: bool = True):
    """One env with training's semantics (the id's sticky actions included) and raw (unclipped) rewards;
    ``observation_space`` is one frame.

    ``serve`` as in training: FIRE added to the first action of every life, or (False) ale-py's single
    FIRE frame at a game start, the rest left to the agent.
    """
    spec = env_spec(env_id)  # registers ale-py's ids, or says in one line that the id is unknown
    if frame == "kungfu42":
        from a2c_tf1.envs.atari import make_kungfu42_env

        return make_kungfu42_env(env_id, seed, noop_max, clip_rewards=False)
    # The id's own sticky actions (0.25 for ALE/*-v5), as training played them.
    return make_reference_env(env_id, seed, noop_max=noop_max, fire_reset="serve" if serve else "ale",
                              repeat_action_probability=spec.kwargs.get("repeat_action_probability", 0.0),
                              clip_rewards=False)


def evaluate(agent: Agent, env, env_id: str, episodes: int, nstack: int, deterministic: bool = False,
             video_path: Optional[str] = None, max_steps: Optional[int] = None, stream=None,
             scores_path: Optional[str] = None) -> dict:
    """Play ``episodes`` full games (up to ``noop_max`` random no-op frames at each start).

    The first game is recorded to ``video_path`` (one frame per agent step, played back in real time);
    each game's raw score and agent steps go to ``scores_path`` (a CSV) as soon as it ends. Ctrl-C stops
    it: the games finished by then are reported and ``result["interrupted"]`` is True (``mean``, ``std``,
    ``min`` and ``max`` are in ``result`` only when a game finished).
    """
    stream = stream or sys.stdout
    progress = ProgressLine(episodes, label="episode")
    scores, lengths = [], []
    frames: Optional[list] = [] if video_path else None
    interrupted = False
    if scores_path:  # the header at once: a file from an earlier evaluation never passes for this one's
        write_scores(scores_path, scores, lengths)
    try:
        for episode in range(episodes):
            progress.update(episode)
            score, steps = play_game(agent, env, nstack, deterministic, max_steps, frames if episode == 0 else None)
            scores.append(score)
            lengths.append(steps)
            if scores_path:
                write_scores(scores_path, scores, lengths)
        progress.update(episodes)
    except KeyboardInterrupt:  # Ctrl-C: report the games that finished, drop the one under way
        interrupted = True
    finally:
        progress.clear()
        env.close()
    # The 2600 draws 60 frames a second and the agent acts every 4th: 15 recorded frames = 1 s of play.
    fps = 60.0 / 4
    result = {"scores": scores, "lengths": lengths, "interrupted": interrupted,
              "video_frames": len(frames or []) if scores else 0}
    if interrupted:
        stream.write(f"interrupted after {len(scores)} of {episodes} games\n")
    if not scores:
        return result
    if video_path:  # the first game is whole once any game has finished
        write_video(video_path, frames, fps)
    result.update(mean=float(np.mean(scores)), std=float(np.std(scores)), min=float(np.min(scores)),
                  max=float(np.max(scores)))
    stream.write(f"{env_id}: {len(scores)} games, {'greedy' if deterministic else 'sampled'} actions\n"
                 f"score {result['mean']:.1f} ± {result['std']:.1f}  (min {result['min']:g}, max {result['max']:g})\n"
                 f"length {np.mean(lengths):.0f} ± {np.std(lengths):.0f} steps  (min {min(lengths)}, max {max(lengths)})\n")
    if video_path:
        stream.write(f"video: {video_path} ({len(frames)} frames at {fps:g} fps)\n")
    if scores_path:
        stream.write(f"scores: {scores_path} ({len(scores)} games)\n")
    return result
