"""The global weights as the A2C's ``.save`` files (same names, order and safety rules), and beside them
``<path>.state``: the optimizer slots, the global step and game count, and a copy of the weights with
their fingerprint, for an exact resume.

As the A2C's checkpoints: the ``.state`` is written first and then the ``.save``, each atomically,
from one reading of the variables (one session call; see :meth:`GlobalNetwork.snapshot` for what
that means while workers go on updating), so a stop at any moment leaves a consistent pair or a newer
``.state`` beside an older ``.save``, which :func:`restore` notices (the fingerprints differ) and
resumes from the ``.state``'s weights.
"""
from __future__ import annotations

import os
from typing import Callable, Optional

import numpy as np

from a2c_tf1 import checkpoint
from a2c_tf1.a3c.graph import GlobalNetwork
from a2c_tf1.a3c.worker import TrainingDiverged
from a2c_tf1.agent import (SETTINGS, STATE_SUFFIX, WEIGHTS_FINGERPRINT, WEIGHTS_PREFIX, encode_settings,
                           read_training_state)

# A run may go on to more global steps than it first aimed at (the linear lr schedule then stretches).
RESUMABLE_CHANGES = ("num_timesteps",)


def save(sess, glob: GlobalNetwork, path: str, settings: Optional[dict] = None) -> int:
    """Atomically write ``<path>.state`` and then ``<path>`` (the seed's format: a list in variable order).
    ``settings`` (:func:`~a2c_tf1.a3c.config.run_settings`) go into the ``.state``, for :func:`restore` to check.

    Returns:
        the global step saved.

    Raises:
        TrainingDiverged: a weight or optimizer statistic is NaN or infinite; the files on disk are left
            as they were.
    """
    params, state = glob.snapshot(sess)
    for name, array in list(zip(glob.param_names, params)) + list(state.items()):
        if not np.all(np.isfinite(array)):
            raise TrainingDiverged(f"{name} holds NaN or infinite values; {path} was not overwritten")
    state[WEIGHTS_FINGERPRINT] = checkpoint.fingerprint(params)
    if settings is not None:
        state[SETTINGS] = encode_settings(settings)
    state.update({WEIGHTS_PREFIX + name: array for name, array in zip(glob.param_names, params)})
    checkpoint.save_params(path + STATE_SUFFIX, state)
    checkpoint.save_params(path, params)
    return int(state["global_step"])


def restore(sess, glob: GlobalNetwork, path: str, say: Optional[Callable[[str], None]] = None,
            settings: Optional[dict] = None) -> tuple[int, int]:
    """Load the newest consistent moment of ``path`` and ``path.state`` into the global network, after
    checking that ``settings`` agree with those the ``.state`` recorded (older files record none).

    Returns:
        (global step, global episodes) of the saved run; (0, 0) for a ``.save`` without a ``.state``
        (weights from the A2C or the seed, say).

    Raises:
        checkpoint.CheckpointError: a damaged, unsafe or mismatched file (names the variable), or a
            ``.state`` alone that holds no weights.
        agent.SettingsMismatch: the run was trained with other settings; nothing was loaded.
    """
    state_path = path + STATE_SUFFIX
    state = read_training_state(state_path, settings, RESUMABLE_CHANGES)  # before any weight is loaded
    shapes = [tuple(v.shape.as_list()) for v in glob.params]
    weights = None
    if os.path.exists(path):
        weights = checkpoint.match_to_variables(checkpoint.load_params(path), glob.param_names, shapes, path)
        glob.assign(sess, dict(zip(glob.param_names, weights)))
    if state is None:
        if weights is None:
            raise checkpoint.CheckpointError(f"no checkpoint at {path}")
        return 0, 0
    names = [n for n, _ in glob.state_variables] + [WEIGHTS_FINGERPRINT] + [WEIGHTS_PREFIX + n for n in glob.param_names]
    shapes = [tuple(v.shape.as_list()) for _, v in glob.state_variables] + [(32,)] + shapes
    arrays = checkpoint.match_to_variables(state, names, shapes, state_path)
    nstate = len(glob.state_variables)
    fingerprint, saved_weights = arrays[nstate], arrays[nstate + 1:]
    if not np.array_equal(checkpoint.fingerprint(saved_weights), fingerprint):
        raise checkpoint.CheckpointError(f"{state_path}: its weights do not match their fingerprint (damaged file)")
    if weights is None or not np.array_equal(checkpoint.fingerprint(weights), fingerprint):
        if say is not None:
            say(f"{path} is {'missing' if weights is None else 'older than ' + state_path}; "
                f"resuming from the weights saved in {state_path}")
        glob.assign(sess, dict(zip(glob.param_names, saved_weights)))
    glob.assign(sess, dict(zip([n for n, _ in glob.state_variables], arrays[:nstate])))
    return int(state["global_step"]), int(state["episodes"])
