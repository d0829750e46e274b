"""The global weights as the A2C's ``.save`` files (same names, order and safety rules), and the
optimizer slots and global counters beside them in ``<path>.state`` for an exact resume."""
from __future__ import annotations

import os

import numpy as np

from a2c_tf1 import checkpoint
from a2c_tf1.a3c.graph import GlobalNetwork
from a2c_tf1.a3c.worker import TrainingDiverged

STATE_SUFFIX = ".state"  # <EnvId>.save.state, as the A2C


def save(sess, glob: GlobalNetwork, path: str) -> int:
    """Atomically write the global weights (seed format: a list in variable order) and the training state.

    Returns:
        the global step saved.

    Raises:
        TrainingDiverged: a weight is NaN or infinite; the files on disk are left as they were.
    """
    params = glob.get_params(sess)
    state = glob.get_state(sess)
    for name, array in list(zip(glob.param_names, params)) + list(state.items()):
        if not np.all(np.isfinite(array)):
            raise TrainingDiverged(f"{name} holds NaN or infinite values; {path} was not overwritten")
    checkpoint.save_params(path, params)
    checkpoint.save_params(path + STATE_SUFFIX, state)
    return int(state["global_step"])


def restore(sess, glob: GlobalNetwork, path: str) -> tuple[int, int]:
    """Load ``path`` (and ``path.state`` when present) into the global network.

    Returns:
        (global step, global episodes) of the saved run; (0, 0) without a ``.state`` file.

    Raises:
        checkpoint.CheckpointError: a damaged, unsafe or mismatched file (names the variable).
    """
    shapes = [tuple(v.shape.as_list()) for v in glob.params]
    arrays = checkpoint.match_to_variables(checkpoint.load_params(path), glob.param_names, shapes, path)
    glob.assign(sess, dict(zip(glob.param_names, arrays)))
    if not os.path.exists(path + STATE_SUFFIX):
        return 0, 0
    state = checkpoint.load_params(path + STATE_SUFFIX)
    if not isinstance(state, dict):
        raise checkpoint.CheckpointError(f"{path + STATE_SUFFIX} is not a training-state file")
    names = [n for n, _ in glob.state_variables]
    shapes = [tuple(v.shape.as_list()) for _, v in glob.state_variables]
    values = checkpoint.match_to_variables(state, names, shapes, path + STATE_SUFFIX)
    glob.assign(sess, dict(zip(names, values)))
    return int(state["global_step"]), int(state["episodes"])
