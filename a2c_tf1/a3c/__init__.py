"""A3C (Mnih et al. 2016) on the A2C's graph-mode building blocks: one global network, actor-learners
that copy it, play ``t_max`` steps and apply their gradients to it without waiting for each other,
in threads of one process or across processes and machines on TensorFlow's distributed runtime.

``python -m a2c_tf1.a3c --help``; the modules, from the bottom up: config and presets (settings),
envs (one environment per actor-learner), towers (seed 003's two-tower net), graph (global and local
networks), worker (the actor-learner loop), checkpoints, signals (a first and a second Ctrl-C),
train (threads and the coordinating loop),
cluster (roles on TensorFlow's distributed runtime), launch (a supervised local cluster), cli.
"""
