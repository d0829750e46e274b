"""a2c_tf1: OpenAI baselines' 2017 A2C in TensorFlow graph mode (tf.compat.v1), for Atari on ale-py."""
import os as _os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notices) hides the training table; users can
# still set TF_CPP_MIN_LOG_LEVEL themselves.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from a2c_tf1.agent import Agent, TrainingDiverged  # noqa: E402
from a2c_tf1.returns import discount_with_dones  # noqa: E402
from a2c_tf1.runner import Rollout, Runner  # noqa: E402
from a2c_tf1.train import learn  # noqa: E402

__all__ = ["Agent", "Rollout", "Runner", "TrainingDiverged", "discount_with_dones", "learn"]
