"""How much RMSProp's epsilon shrinks the steps of a run, read off the ``rms`` slots of its ``.state``.

TF1's RMSProp moves a weight by ``lr * g / sqrt(ms + epsilon)``, ``ms`` the running mean of ``g^2``.
Where ``ms`` is much larger than ``epsilon`` a step is about ``lr`` whatever the scale of the gradient;
where it is much smaller the optimizer is plain SGD with ``lr / sqrt(epsilon)``, and a weight whose
gradients are about 1e-3 moves ``sqrt(ms / (ms + epsilon))`` ~ 1e-3 / sqrt(0.1) = 0.003 times as far.
This reports that factor (``shrink``) per variable for any A2C or A3C ``.state``, so two settings of
``epsilon`` can be compared on the gradients a run really had.

    python -m a2c_tf1.optimizer_stats models/a3c/BreakoutNoFrameskip-v4.save.state  # the run's own epsilon
    python -m a2c_tf1.optimizer_stats models/BreakoutNoFrameskip-v4.save.state --epsilon 0.1  # another one
"""
from __future__ import annotations

import argparse
import sys
from typing import NamedTuple, Optional

import numpy as np

from a2c_tf1 import checkpoint

RMS_SUFFIX = "/rms"


class VariableStats(NamedTuple):
    """One variable's ``rms`` slot: ``size`` weights, the median and 90th percentile of ``sqrt(ms)``
    (the gradient's running RMS), the fraction of weights whose ``ms`` is below ``epsilon``, and the
    median ``shrink = sqrt(ms / (ms + epsilon))`` (1: epsilon changes nothing; 0.01: steps 100 times
    shorter than with epsilon ~ 0)."""
    name: str
    size: int
    grad_rms_median: float
    grad_rms_p90: float
    below_epsilon: float
    shrink_median: float


def rms_stats(state: dict, epsilon: float) -> list[VariableStats]:
    """:class:`VariableStats` of every ``<name>/rms`` array in ``state`` (a loaded ``.state``), in its order.

    Raises:
        ValueError: ``epsilon`` is negative, or ``state`` holds no RMSProp slots (an Adam run).
    """
    if not epsilon >= 0:
        raise ValueError(f"--epsilon must be >= 0, got {epsilon}")
    out = []
    for name, value in state.items():
        if not name.endswith(RMS_SUFFIX):
            continue
        ms = np.asarray(value, np.float64).ravel()
        shrink = np.sqrt(ms / (ms + epsilon)) if epsilon > 0 else np.ones_like(ms)
        grad_rms = np.sqrt(ms)
        out.append(VariableStats(name[:-len(RMS_SUFFIX)], ms.size, float(np.median(grad_rms)),
                                 float(np.percentile(grad_rms, 90)), float(np.mean(ms < epsilon)),
                                 float(np.median(shrink))))
    if not out:
        raise ValueError("no RMSProp slots (<name>/rms) in this file: was the run trained with Adam?")
    return out


def weighted_shrink(stats: list[VariableStats]) -> float:
    """Median shrink over all weights, each variable's median standing for its ``size`` weights."""
    shrinks = np.array([s.shrink_median for s in stats])
    sizes = np.array([s.size for s in stats], np.float64)
    order = np.argsort(shrinks)
    cumulative = np.cumsum(sizes[order])
    return float(shrinks[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def saved_epsilon(state: dict, path: str) -> Optional[float]:
    """The ``epsilon`` a run (A2C or A3C) recorded in its ``.state``; None for a ``.state`` older than recorded settings."""
    from a2c_tf1.agent import SETTINGS, decode_settings  # imports TensorFlow; only needed here
    if SETTINGS not in state:
        return None
    value = decode_settings(state[SETTINGS], path).get("epsilon")
    return float(value) if value is not None else None


def format_table(stats: list[VariableStats], epsilon: float) -> str:
    lines = [f"epsilon {epsilon:g}: shrink = sqrt(ms / (ms + epsilon)), 1 = epsilon changes nothing",
             f"{'variable':<22} {'weights':>9} {'sqrt(ms) median':>16} {'p90':>9} {'ms < eps':>9} {'shrink':>9}"]
    for s in stats:
        lines.append(f"{s.name:<22} {s.size:>9,} {s.grad_rms_median:>16.2e} {s.grad_rms_p90:>9.2e} "
                     f"{s.below_epsilon:>9.1%} {s.shrink_median:>9.2e}")
    lines.append(f"median shrink over all {sum(s.size for s in stats):,} weights: {weighted_shrink(stats):.2e}")
    return "\n".join(lines)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a2c_tf1.optimizer_stats", description=__doc__.split("\n")[0])
    parser.add_argument("state", help="a checkpoint's .state file (A2C or A3C)")
    parser.add_argument("--epsilon", type=float, default=None,
                        help="RMSProp epsilon to judge against (default: the one the run recorded; "
                             "give it for a .state written before runs recorded their settings)")
    args = parser.parse_args(argv)
    try:
        state = checkpoint.load_params(args.state)
        if not isinstance(state, dict):
            raise checkpoint.CheckpointError(f"{args.state} is a weights file, not a .state: give the .save.state beside it")
        epsilon = args.epsilon if args.epsilon is not None else saved_epsilon(state, args.state)
        if epsilon is None:
            raise ValueError(f"{args.state} records no epsilon (it predates recorded settings): give --epsilon, the one its run used")
        print(format_table(rms_stats(state, epsilon), epsilon))
    except (checkpoint.CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
