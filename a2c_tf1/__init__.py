"""a2c_tf1: OpenAI baselines' 2017 A2C in TensorFlow graph mode (tf.compat.v1), for Atari on ale-py."""
import importlib as _importlib
import os as _os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) hides the training table; users can
# still set TF_CPP_MIN_LOG_LEVEL themselves.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

_EXPORTS = {
    "Agent": "a2c_tf1.agent", "TrainingDiverged": "a2c_tf1.agent", "discount_with_dones": "a2c_tf1.returns",
    "Rollout": "a2c_tf1.runner", "Runner": "a2c_tf1.runner", "learn": "a2c_tf1.train",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    # Lazy, so `python -m a2c_tf1 presets` and flag errors answer without loading TensorFlow.
    if name in _EXPORTS:
        return getattr(_importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'a2c_tf1' has no attribute {name!r}")
