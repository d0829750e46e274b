"""How large are the network's outputs at initialisation? `a3c-atari`'s init against PyTorch's default.

Measures, at initialisation only (no training step), on real Pong observations:

1. Observations: ``N_STEPS`` random actions in PongNoFrameskip-v4 through the package's own A3C env
   (:class:`a2c_tf1.a3c.envs.WorkerEnv`: no-op starts, frame skip 4, 84x84 grey, FIRE at reset), stacked
   4 deep with :func:`a2c_tf1.runner.push_frame` from a zero stack, as an A3C worker does.
2. Ours: the network `python -m a2c_tf1.a3c --preset a3c-atari --env PongNoFrameskip-v4 --seed S` builds
   (policy ``cnn-2013``: conv 16 8x8/4, conv 32 4x4/2, dense 256, heads pi (6) and v), made by the
   package's own code (``config_from_args``, ``build_threads``, ``prepare_global``), so its weights are
   baselines' orthogonal init: scale sqrt(2) for both convs and the dense layer, 1.0 for both heads, zero
   biases. Its outputs are the global network's own TensorFlow tensors.
3. PyTorch's default: the same architecture with the init ``nn.Conv2d`` and ``nn.Linear`` give their
   weights when nothing else is done (``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(fan_in),
   1/sqrt(fan_in)), and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))), which is what PFRL's A3C Atari
   reproduction (examples/atari/reproduction/a3c/train_a3c.py) uses. Drawn here with numpy (a seeded
   RandomState: the same distribution as PyTorch's, not the same numbers) and run through a numpy forward
   pass, which is checked against TensorFlow on our weights. Both networks read the frames divided by 255
   (our ``dqn2013_cnn`` does; PFRL's ``phi`` does).

Figures, over all observations, mean +- std over ``SEEDS`` init seeds: RMS of the dense layer's (ReLU)
activations; the fraction of dense units that are zero on every observation; the spread of the policy
logits (mean over observations of the std across the 6 actions); how much the logits change with the
observation (std over observations, averaged over the actions); the mean policy entropy (ln 6 = 1.792 is
uniform); the std of the value output over the observations. Then the ratio ours / PyTorch's default.

Run from the repository root (about 45 s of CPU time; 1-2 minutes on 2 cores shared with a training run):

    python docs/a3c/experiments/init_scale.py
"""
from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))

import tensorflow as tf  # noqa: E402

from a2c_tf1.a3c.cli import build_parser, config_from_args  # noqa: E402
from a2c_tf1.a3c.envs import WorkerEnv, probe_spaces  # noqa: E402
from a2c_tf1.a3c.train import build_threads, prepare_global  # noqa: E402
from a2c_tf1.runner import push_frame  # noqa: E402

tf1 = tf.compat.v1

ENV_ID = "PongNoFrameskip-v4"
N_STEPS = 400  # observations collected with random actions
SEEDS = (0, 1, 2, 3, 4)  # init seeds, for both inits
OBS_SEED = 0  # the env's seed and the random actions'


def collect_observations(config) -> np.ndarray:
    """``[N_STEPS, 84, 84, 4]`` uint8: stacks seen while playing random actions, as a worker stacks them."""
    env = WorkerEnv(config.env_id, OBS_SEED, config.noop_max, config.action_set)
    rng = np.random.RandomState(OBS_SEED)
    frame_shape = env.observation_space.shape
    stack_shape = tuple(frame_shape[:-1]) + (frame_shape[-1] * config.nstack,)
    stack = push_frame(np.zeros(stack_shape, np.uint8), env.reset())
    out = []
    for _ in range(N_STEPS):
        out.append(stack.copy())
        step = env.step(rng.randint(env.action_space.n))
        if step.terminated or step.truncated:
            stack = push_frame(np.zeros(stack_shape, np.uint8), env.reset())
        else:
            stack = push_frame(stack, step.obs)
    env.close()
    return np.stack(out)


# ---- numpy forward pass of the cnn-2013 net, TensorFlow layout (NHWC, kernels [kh, kw, cin, cout]) ----
def _conv_relu(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
    kh, kw, cin, cout = w.shape
    patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    n, oh, ow = patches.shape[:3]
    patches = patches.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * cin)
    return np.maximum(patches @ w.reshape(-1, cout) + b, 0.0).reshape(n, oh, ow, cout)


def forward(params: dict, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dense activations [B, 256], logits [B, nact], values [B]) for uint8 ``obs`` [B, 84, 84, 4]."""
    x = obs.astype(np.float32) / 255.0
    h = _conv_relu(x, params["c1/w"], params["c1/b"], 4)
    h = _conv_relu(h, params["c2/w"], params["c2/b"], 2)
    h = h.reshape(len(obs), -1)
    dense = np.maximum(h @ params["fc1/w"] + params["fc1/b"], 0.0)
    return dense, dense @ params["pi/w"] + params["pi/b"], (dense @ params["v/w"] + params["v/b"])[:, 0]


def pytorch_default(shapes: dict, rng: np.random.RandomState) -> dict:
    """PyTorch's default for nn.Conv2d / nn.Linear: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    fan_in = kh*kw*cin for a conv and nin for a dense layer (the same for the bias as for its weights)."""
    params = {}
    for layer in ("c1", "c2", "fc1", "pi", "v"):
        wshape = shapes[f"{layer}/w"]
        bound = 1.0 / np.sqrt(np.prod(wshape[:-1]))
        params[f"{layer}/w"] = rng.uniform(-bound, bound, wshape).astype(np.float32)
        params[f"{layer}/b"] = rng.uniform(-bound, bound, shapes[f"{layer}/b"]).astype(np.float32)
    return params


def figures(dense: np.ndarray, logits: np.ndarray, values: np.ndarray) -> dict:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return {"dense RMS": float(np.sqrt(np.mean(np.square(dense)))),
            "dense units zero on every obs": float(np.mean(dense.max(axis=0) == 0.0)),
            "logit spread (std across actions)": float(np.mean(logits.std(axis=1))),
            "logit std over obs (mean over actions)": float(np.mean(logits.std(axis=0))),
            "policy entropy": float(np.mean(-(np.exp(logp) * logp).sum(axis=1))),
            "value std (over obs)": float(values.std())}


def config_for(seed: int, models_dir: str):
    """The a3c-atari settings on Pong, as the command line resolves them. One worker thread: workers'
    local copies draw from their own RandomStates, so their number does not change the global weights."""
    args = build_parser().parse_args(["--preset", "a3c-atari", "--env", ENV_ID, "--seed", str(seed),
                                      "--threads", "1", "--models-dir", models_dir])
    return config_from_args(args)


def ours(seed: int, obs: np.ndarray, models_dir: str, ob_space, ac_space) -> tuple[dict, dict, float]:
    """(figures, weights by name, largest relative difference numpy forward - TensorFlow) for ``seed``."""
    config = config_for(seed, models_dir)
    graph, glob, locals_ = build_threads(config, ob_space, ac_space)
    model = glob.model
    dense_t = graph.get_tensor_by_name("global/model/fc1/Relu:0")  # the dense layer, the heads' input
    with tf1.Session(graph=graph) as sess:
        sess.run([local.initializer for local in locals_])
        prepare_global(sess, glob, config, lambda text: None)
        run = sess.make_callable([dense_t, model.pi, model.v0], [model.X])
        outs = [run(o[None]) for o in obs]  # the global model reads one observation at a time
        params = dict(zip([n[len("model/"):] for n in glob.param_names], sess.run(glob.params)))
    dense, logits, values = (np.concatenate([o[i] for o in outs]) for i in range(3))
    # the numpy pass that runs PyTorch's init below, on our weights: the largest difference, relative to
    # the largest output of each kind
    check = forward(params, obs)
    err = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(check, (dense, logits, values)))
    return figures(dense, logits, values), params, err


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="init_scale_") as tmp:
        measure(os.path.join(tmp, "none"))  # a folder with no checkpoint: fresh weights, nothing written


def measure(models_dir: str) -> None:
    config = config_for(0, models_dir)
    print(f"{config.env_id}: preset a3c-atari, policy {config.policy}, nstack {config.nstack}, "
          f"head_init {config.head_init}; {N_STEPS} observations from random play (env seed {OBS_SEED})")
    obs = collect_observations(config)
    ob_space, ac_space = probe_spaces(config)
    print(f"observations {obs.shape} {obs.dtype}, pixel mean {obs.mean():.1f} of 255")

    rows_ours, rows_pt = [], []
    for seed in SEEDS:
        fig, params, err = ours(seed, obs, models_dir, ob_space, ac_space)
        if err > 1e-4:
            raise SystemExit(f"the numpy forward pass differs from TensorFlow's by {err:.3g} (seed {seed})")
        rows_ours.append(fig)
        shapes = {name: p.shape for name, p in params.items()}
        pt = pytorch_default(shapes, np.random.RandomState(seed))
        rows_pt.append(figures(*forward(pt, obs)))
        if seed == SEEDS[0]:
            print("weight std per layer at seed %d (ours; PyTorch default: 1/sqrt(3 fan_in)):" % seed)
            for layer in ("c1", "c2", "fc1", "pi", "v"):
                w = params[f"{layer}/w"]
                default = 1.0 / np.sqrt(3.0 * np.prod(w.shape[:-1]))
                print(f"  {layer}/w {str(w.shape):>16}: {w.std():.4f} vs {default:.4f}, ratio {w.std() / default:.2f}")
        print(f"seed {seed}: numpy forward pass = TensorFlow's to {err:.1e} (relative)")

    print(f"\nMean +- std over init seeds {', '.join(map(str, SEEDS))}; {N_STEPS} Pong observations.\n")
    print("| at initialisation | ours (`a3c-atari`, orthogonal) | PyTorch default (PFRL) | ratio ours / PyTorch |")
    print("| --- | --- | --- | --- |")
    for key in rows_ours[0]:
        a = np.array([r[key] for r in rows_ours])
        b = np.array([r[key] for r in rows_pt])
        ratio = f"{a.mean() / b.mean():.2f}" if b.mean() > 0 else "-"
        print(f"| {key} | {a.mean():.3g} ± {a.std():.2g} | {b.mean():.3g} ± {b.std():.2g} | {ratio} |")


if __name__ == "__main__":
    main()
