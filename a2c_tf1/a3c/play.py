"""Play a trained A3C agent: the A2C's Agent over the same policy class (the global weights are saved
under the A2C's names), on an evaluation env with the run's action set."""
from __future__ import annotations

from a2c_tf1.a3c.config import A3CConfig
from a2c_tf1.a3c.envs import ActionSubset
from a2c_tf1.a3c.graph import policy_class
from a2c_tf1.agent import Agent
from a2c_tf1.evaluate import make_eval_env


def load_player(config: A3CConfig):
    """(agent holding ``config.save_path``'s weights, one evaluation env with raw rewards).

    Raises:
        checkpoint.CheckpointError: the file is damaged or does not fit the policy and action set.
    """
    env = make_eval_env(config.env_id, config.seed, config.noop_max)
    if config.action_set is not None:
        env = ActionSubset(env, tuple(config.action_set))
    agent = Agent(policy_class(config.policy), env.observation_space, env.action_space, 1, 1, config.nstack,
                  seed=config.seed, num_threads=1)
    try:
        agent.load(config.save_path)
    except Exception:
        agent.close()
        env.close()
        raise
    return agent, env
