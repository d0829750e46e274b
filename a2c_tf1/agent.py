"""The A2C agent: one graph holding a step model and a train model over shared weights, the loss and
RMSProp, run by the agent's own session (two agents can live in one process)."""
from __future__ import annotations

import json
import os
from typing import Optional

import numpy as np
import tensorflow as tf
from gymnasium import spaces

from a2c_tf1 import checkpoint
from a2c_tf1.config import GENERATIONS, OPTIMIZERS
from a2c_tf1.layers import cat_entropy
from a2c_tf1.schedules import learning_rate

tf1 = tf.compat.v1
tf1.disable_eager_execution()
tf.get_logger().setLevel("ERROR")  # TF1 optimizers print deprecation notices on every graph build

STATE_SUFFIX = ".state"
# Keys of a .state file besides the optimizer slots and "timestep".
WEIGHTS_PREFIX = "weights/"
WEIGHTS_FINGERPRINT = "weights_sha256"
# Keys that older .state files lack: the fingerprint of the .save on disk when the .state was written
# (uint8[0] when there was none), and the run's settings as JSON bytes.
PREVIOUS_FINGERPRINT = "previous_weights_sha256"
SETTINGS = "settings_json"


class SettingsMismatch(checkpoint.CheckpointError):
    """A run is resumed with other settings than its checkpoint was trained with.

    Attributes:
        differences: setting name -> (value in the checkpoint, value now), sorted by name.
    """

    def __init__(self, state_path: str, differences: dict):
        self.differences = differences
        listed = ", ".join(f"{name} {saved!r} -> {now!r}" for name, (saved, now) in differences.items())
        super().__init__(f"{state_path} was trained with other settings ({listed})")


def encode_settings(settings: dict) -> np.ndarray:
    """JSON of ``settings`` as ``uint8[n]``, the only kind of value a checkpoint holds."""
    return np.frombuffer(json.dumps(settings, sort_keys=True).encode(), np.uint8).copy()


def decode_settings(array: np.ndarray, state_path: str) -> dict:
    try:
        settings = json.loads(np.asarray(array, np.uint8).tobytes().decode())
    except (ValueError, UnicodeDecodeError):
        raise checkpoint.CheckpointError(f"{state_path}: its settings are not readable (damaged file)") from None
    if not isinstance(settings, dict):
        raise checkpoint.CheckpointError(f"{state_path}: its settings are not readable (damaged file)")
    return settings


def compare_settings(saved: dict, now: dict, state_path: str, ignore: tuple = ()) -> None:
    """Raise :class:`SettingsMismatch` when a setting that both dicts hold differs (``ignore`` aside)."""
    differences = {name: (saved[name], now[name]) for name in sorted(set(saved) & set(now))
                   if name not in ignore and saved[name] != now[name]}
    if differences:
        raise SettingsMismatch(state_path, differences)


def read_training_state(state_path: str, settings: Optional[dict] = None, ignore: tuple = ()) -> Optional[dict]:
    """The ``.state`` file's arrays (None when there is none), its recorded settings taken out and checked.

    A damaged settings record is refused; with ``settings`` given, every setting both hold must be equal
    (``ignore`` aside). Callers check this before loading any weight: another ``--nstack`` or ``--policy``
    changes weight shapes, and the shape error the weights would give says less than the settings.

    Raises:
        checkpoint.CheckpointError: not a training-state file, or unreadable settings.
        SettingsMismatch: ``settings`` differ from the recorded ones.
    """
    if not os.path.exists(state_path):
        return None
    state = checkpoint.load_params(state_path)
    if not isinstance(state, dict):
        raise checkpoint.CheckpointError(f"{state_path} is not a training-state file")
    if SETTINGS in state:
        saved = decode_settings(state.pop(SETTINGS), state_path)
        if settings is not None:
            compare_settings(saved, settings, state_path, ignore)
    return state


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the weights in memory are no longer usable."""


class Agent:
    """A2C as in baselines: ``loss = pg_loss - ent_coef * entropy + vf_coef * vf_loss``.

    Args:
        policy: a policy class (``CnnPolicy``, ``MlpPolicy``), built twice over shared variables.
        ob_space: one frame, e.g. ``Box(0, 255, (84, 84, 1), uint8)``; ``nstack`` frames go on the last axis.
        ac_space: ``Discrete(nact)``.
        nenvs, nsteps: the step model takes ``[nenvs, ...]``, the train model ``[nenvs*nsteps, ...]``.
        nstack: frames stacked per observation.
        ent_coef, vf_coef, max_grad_norm: loss weights and the global-norm clip of the gradients.
        lr, lrschedule, total_timesteps: the learning rate decays under ``lrschedule`` over ``total_timesteps``.
        alpha, epsilon: RMSProp decay and epsilon (TF1's, inside the square root).
        optimizer: "rmsprop" (baselines) or "adam" (TF1's defaults besides the learning rate).
        seed: graph-level seed and the seed of the weight initialisation.
        baselines: code generation, "2017" (vf_loss = mean((V-R)^2 / 2), policy head init 1.0) or "2018"
            (vf_loss = mean((V-R)^2), policy head init 0.01); the variables and checkpoints are the same.
        num_threads: TensorFlow intra-op threads (default: all cores).
    """

    def __init__(self, policy, ob_space: spaces.Box, ac_space: spaces.Discrete, nenvs: int, nsteps: int,
                 nstack: int, ent_coef: float = 0.01, vf_coef: float = 0.5, max_grad_norm: Optional[float] = 0.5,
                 lr: float = 7e-4, alpha: float = 0.99, epsilon: float = 1e-5, total_timesteps: int = int(10e6),
                 lrschedule: str = "linear", seed: int = 0, num_threads: Optional[int] = None,
                 optimizer: str = "rmsprop", baselines: str = "2018"):
        learning_rate(lr, lrschedule, 0, total_timesteps)  # fail early on an unknown schedule
        if baselines not in GENERATIONS:
            raise ValueError(f"unknown baselines generation {baselines!r}; choose one of {', '.join(GENERATIONS)}")
        generation = GENERATIONS[baselines]
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        self.nenvs, self.nsteps, self.nstack = nenvs, nsteps, nstack
        self.nbatch = nenvs * nsteps
        self.initial_lr, self.lrschedule, self.total_timesteps = lr, lrschedule, total_timesteps
        self.graph = tf.Graph()
        threads = num_threads or os.cpu_count() or 1
        config = tf1.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=1,
                                 allow_soft_placement=True)
        config.gpu_options.allow_growth = True
        with self.graph.as_default():
            tf1.set_random_seed(seed)
            rng = np.random.RandomState(seed)
            self.A = tf1.placeholder(tf.int32, [self.nbatch], name="A")
            self.ADV = tf1.placeholder(tf.float32, [self.nbatch], name="ADV")
            self.R = tf1.placeholder(tf.float32, [self.nbatch], name="R")
            self.LR = tf1.placeholder(tf.float32, [], name="LR")

            heads = {"pi_init_scale": generation.pi_init_scale}
            self.step_model = policy(ob_space, ac_space, nenvs, 1, nstack, reuse=False, rng=rng, **heads)
            self.train_model = policy(ob_space, ac_space, nenvs, nsteps, nstack, reuse=True, rng=rng, **heads)
            self.recurrent = bool(getattr(policy, "recurrent", False))
            self.initial_state = self.step_model.initial_state if self.recurrent else None

            train_pi = self.train_model.pi
            neglogpac = tf.nn.sparse_softmax_cross_entropy_with_logits(logits=train_pi, labels=self.A)
            self.pg_loss = tf.reduce_mean(self.ADV * neglogpac)
            # 2017's /2 is a hidden factor: with vf_coef 0.5 the squared error weighs 0.25 (2018: 0.5).
            squared_error = tf.math.squared_difference(tf.squeeze(self.train_model.vf, axis=1), self.R)
            self.vf_loss = tf.reduce_mean(squared_error / 2.0 if generation.value_loss_halved else squared_error)
            self.entropy = tf.reduce_mean(cat_entropy(train_pi))
            self.loss = self.pg_loss - self.entropy * ent_coef + self.vf_loss * vf_coef

            self.params = tf1.trainable_variables("model")
            grads = tf.gradients(self.loss, self.params)
            self.grad_norm = tf.linalg.global_norm(grads)
            if max_grad_norm is not None:
                grads, _ = tf.clip_by_global_norm(grads, max_grad_norm, use_norm=self.grad_norm)
            if optimizer == "adam":
                self.optimizer = tf1.train.AdamOptimizer(learning_rate=self.LR)
            else:
                self.optimizer = tf1.train.RMSPropOptimizer(learning_rate=self.LR, decay=alpha, epsilon=epsilon)
            self._train_op = self.optimizer.apply_gradients(list(zip(grads, self.params)))
            self.diagnostics = {
                "policy_loss": self.pg_loss, "value_loss": self.vf_loss, "policy_entropy": self.entropy,
                "total_loss": self.loss, "grad_norm": self.grad_norm,
            }

            self.param_names = [v.op.name for v in self.params]
            # Every optimizer variable: per-weight slots (RMSProp's rms/momentum, Adam's m/v) and Adam's
            # beta powers, so a resumed run continues the optimizer exactly.
            self._slots = [(f"{v.op.name}/{name}", self.optimizer.get_slot(v, name))
                           for v in self.params for name in sorted(self.optimizer.get_slot_names())]
            slot_variables = {id(v) for _, v in self._slots}
            self._slots += [(v.op.name, v) for v in self.optimizer.variables() if id(v) not in slot_variables]
            assign_targets = list(self.params) + [slot for _, slot in self._slots]
            self._assign_inputs = [tf1.placeholder(v.dtype.base_dtype, v.shape) for v in assign_targets]
            self._assign_ops = [v.assign(p) for v, p in zip(assign_targets, self._assign_inputs)]
            init = tf1.global_variables_initializer()
        self.graph.finalize()
        self.sess = tf1.Session(graph=self.graph, config=config)
        self.sess.run(init)
        # Callables skip session.run's per-call feed/fetch parsing, a measurable share at ~2,000 calls/s.
        step, train = self.step_model, self.train_model
        memory = [step.S, step.M] if self.recurrent else []
        self._step = self.sess.make_callable([step.a0, step.v0] + ([step.snew] if self.recurrent else []),
                                             [step.X] + memory)
        self._value = self.sess.make_callable(step.v0, [step.X] + memory)
        self._logits = self.sess.make_callable([step.pi] + ([step.snew] if self.recurrent else []), [step.X] + memory)
        self._train = self.sess.make_callable(
            [self.diagnostics, self._train_op],
            [train.X, self.A, self.ADV, self.R, self.LR] + ([train.S, train.M] if self.recurrent else []))

    # ---- acting -------------------------------------------------------------------------------
    def step(self, obs: np.ndarray, state: Optional[np.ndarray] = None, mask: Optional[np.ndarray] = None):
        """Sample actions ``[nenvs]`` int32 and values ``[nenvs]`` float32 for observations ``[nenvs, ...]``.

        Recurrent policies also take the state ``[nenvs, 2*nlstm]`` and the mask ``[nenvs]`` (1 where the
        previous step ended an episode) and return ``(actions, values, new_state)``.
        """
        return self._step(obs, *self._memory(state, mask))

    def value(self, obs: np.ndarray, state: Optional[np.ndarray] = None, mask: Optional[np.ndarray] = None) -> np.ndarray:
        """``V(obs)``, ``[nenvs]`` float32 (recurrent policies: given state and mask, as in :meth:`step`)."""
        return self._value(obs, *self._memory(state, mask))

    def greedy_step(self, obs: np.ndarray, state: Optional[np.ndarray] = None, mask: Optional[np.ndarray] = None):
        """The most probable actions ``[nenvs]`` (recurrent policies: ``(actions, new_state)``)."""
        fetched = self._logits(obs, *self._memory(state, mask))
        actions = np.argmax(fetched[0], axis=1)
        return (actions, fetched[1]) if self.recurrent else actions

    def _memory(self, state, mask) -> list:
        if not self.recurrent:
            return []
        if state is None or mask is None:
            raise ValueError("a recurrent policy needs the state and the mask: step(obs, state, mask)")
        return [state, np.asarray(mask, dtype=np.float32)]

    # ---- learning -----------------------------------------------------------------------------
    def lr_at(self, timestep: int) -> float:
        """Learning rate for the update whose batch ends at ``timestep`` (baselines advanced its
        schedule once per sample, so an update uses the value at its batch's last sample)."""
        return learning_rate(self.initial_lr, self.lrschedule, timestep, self.total_timesteps)

    def train_with_diagnostics(self, obs: np.ndarray, returns: np.ndarray, actions: np.ndarray,
                               values: np.ndarray, timestep: int = 0, states: Optional[np.ndarray] = None,
                               masks: Optional[np.ndarray] = None) -> dict:
        """One RMSProp step on a batch; returns the loss terms, gradient norm (before clipping) and lr.

        Args:
            obs: ``[nbatch, ...]`` env-major observations.
            returns: ``[nbatch]`` value targets R.
            actions: ``[nbatch]`` actions taken.
            values: ``[nbatch]`` V(s_t) from the step model when the action was taken; ADV = R - V.
            timestep: samples seen before this batch (drives the lr schedule).
            states, masks: recurrent policies only: the state ``[nenvs, 2*nlstm]`` at the rollout's start
                and the masks ``[nbatch]``.

        Raises:
            TrainingDiverged: when a loss or the gradient norm is not finite.
        """
        lr = self.lr_at(timestep + self.nbatch - 1)
        with np.errstate(all="ignore"):  # values can be inf once training diverged; that is reported below
            advantages = returns - values
        stats, _ = self._train(obs, actions, advantages, returns, lr, *self._memory(states, masks))
        stats = {k: float(v) for k, v in stats.items()}
        bad = [k for k, v in stats.items() if not np.isfinite(v)]
        if bad:
            raise TrainingDiverged(f"{bad[0]} is {stats[bad[0]]} at timestep {timestep}")
        stats["learning_rate"] = lr
        return stats

    def train(self, obs: np.ndarray, returns: np.ndarray, actions: np.ndarray, values: np.ndarray,
              timestep: int = 0, states: Optional[np.ndarray] = None,
              masks: Optional[np.ndarray] = None) -> tuple[float, float, float]:
        """One update; returns ``(policy_loss, value_loss, policy_entropy)`` as the seed did."""
        stats = self.train_with_diagnostics(obs, returns, actions, values, timestep, states, masks)
        return stats["policy_loss"], stats["value_loss"], stats["policy_entropy"]

    # ---- checkpoints --------------------------------------------------------------------------
    def get_params(self) -> list[np.ndarray]:
        return self.sess.run(self.params)

    def _assign(self, arrays: list[np.ndarray], with_slots: bool) -> None:
        count = len(arrays)
        ops = self._assign_ops[:count] if not with_slots else self._assign_ops
        self.sess.run(ops, dict(zip(self._assign_inputs[:len(ops)], arrays)))

    def _finite_snapshot(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The weights and the optimizer variables, read in one session call (one moment).

        Raises:
            TrainingDiverged: when a weight is NaN or infinite.
        """
        params, slots = self.sess.run([self.params, [slot for _, slot in self._slots]])
        for name, array in zip(self.param_names, params):
            if not np.all(np.isfinite(array)):
                raise TrainingDiverged(f"{name} holds NaN or infinite values")
        return params, slots

    def save(self, path: str) -> None:
        """Atomically write the weights in the seed's format: a joblib list in variable order.

        Raises:
            TrainingDiverged: when a weight is NaN or infinite; the file on disk is left as it was.
        """
        checkpoint.save_params(path, self._finite_snapshot()[0])

    def save_checkpoint(self, path: str, timestep: int, settings: Optional[dict] = None) -> None:
        """Write ``<path>.state``, then ``<path>``, from one reading of the weights and slots.

        Why this order makes every pair on disk consistent: each file is replaced atomically, and the
        ``.state`` is self-sufficient (timestep, slots, a copy of the weights and their fingerprint, and the
        fingerprint of the ``.save`` it is about to replace). A stop at any point leaves either both files
        of this moment, or this moment's ``.state`` beside the ``.save`` it names as its predecessor
        (:meth:`resume` takes the weights from the newer ``.state``), or both files of the previous
        moment. Any other ``.save`` beside it was not written by this run, and resume refuses it. The
        ``.save`` itself stays in the seed's format.

        Args:
            settings: the run's settings (JSON-able), kept in the ``.state`` so a resume can check them.

        Raises:
            TrainingDiverged: when a weight is NaN or infinite; neither file is touched.
        """
        params, slots = self._finite_snapshot()
        self._write_state(path, timestep, params, slots, settings)
        checkpoint.save_params(path, params)

    def save_training_state(self, path: str, timestep: int, settings: Optional[dict] = None) -> None:
        """Write ``<path>.state`` alone (see :meth:`save_checkpoint`, which also writes the weights)."""
        self._write_state(path, timestep, *self._finite_snapshot(), settings)

    def _write_state(self, path: str, timestep: int, params: list, slots: list, settings: Optional[dict]) -> None:
        state = dict(zip([name for name, _ in self._slots], slots))
        state["timestep"] = np.array(timestep, np.int64)
        state[WEIGHTS_FINGERPRINT] = checkpoint.fingerprint(params)
        state.update({WEIGHTS_PREFIX + name: array for name, array in zip(self.param_names, params)})
        on_disk = self._fingerprint_of_file(path)
        state[PREVIOUS_FINGERPRINT] = on_disk if on_disk is not None else np.zeros(0, np.uint8)
        if settings is not None:
            state[SETTINGS] = encode_settings(settings)
        checkpoint.save_params(path + STATE_SUFFIX, state)

    def load(self, path: str) -> None:
        """Load weights saved by :meth:`save`, the seed, or the name-keyed dict format.

        Raises:
            checkpoint.CheckpointError: a bad file, or one that does not fit this model (names the variable).
        """
        loaded = checkpoint.load_params(path)
        shapes = [tuple(v.shape.as_list()) for v in self.params]
        self._assign(checkpoint.match_to_variables(loaded, self.param_names, shapes, path), with_slots=False)

    def resume(self, path: str, settings: Optional[dict] = None, ignore: tuple = ()) -> tuple[int, str]:
        """Load the newest consistent moment of ``<path>`` and ``<path>.state``.

        Args:
            settings: the settings the run goes on with; when the ``.state`` recorded its own, every
                setting both hold must be equal (``ignore`` aside), and nothing is loaded otherwise.

        Returns:
            ``(timestep, note)``: the timestep to continue from (0 without a ``.state``) and a one-line note,
            empty unless the weights came from the ``.state`` because the ``.save`` is older or missing.

        Raises:
            SettingsMismatch: ``settings`` differ from the recorded ones (names each difference).
            checkpoint.CheckpointError: a bad or unfitting file, a ``.save`` that is neither the ``.state``'s
                moment nor the one before it, or a missing ``.save`` beside a ``.state`` that holds no weights
                (the older format).
        """
        if not os.path.exists(path) and not os.path.exists(path + STATE_SUFFIX):
            raise checkpoint.CheckpointError(f"no checkpoint at {path}")
        state = read_training_state(path + STATE_SUFFIX, settings, ignore)  # before any weight is loaded
        if os.path.exists(path):
            self.load(path)
        return self._restore_state(path, have_weights=os.path.exists(path), state=state)

    def load_training_state(self, path: str) -> int:
        """Restore the optimizer slots from ``<path>.state`` and return the timestep (0 if absent).

        Call it after :meth:`load`. If the ``.state`` was written for other weights than the loaded ones
        (a stop between the two writes of :meth:`save_checkpoint`), its own copy of the weights is loaded.
        """
        return self._restore_state(path, have_weights=True)[0]

    def _restore_state(self, path: str, have_weights: bool, state: Optional[dict] = None) -> tuple[int, str]:
        """Slots, timestep and (if newer than the loaded ones) weights from ``state``, the output of
        :func:`read_training_state` (read from ``<path>.state`` when not given)."""
        state_path = path + STATE_SUFFIX
        state = dict(state) if state is not None else read_training_state(state_path)
        if state is None:
            return 0, ""
        previous = state.pop(PREVIOUS_FINGERPRINT, None)
        with_weights = WEIGHTS_FINGERPRINT in state  # older .state files hold slots and timestep only
        names = [name for name, _ in self._slots] + ["timestep"]
        shapes = [tuple(slot.shape.as_list()) for _, slot in self._slots] + [()]
        if with_weights:
            names += [WEIGHTS_FINGERPRINT] + [WEIGHTS_PREFIX + name for name in self.param_names]
            shapes += [(32,)] + [tuple(v.shape.as_list()) for v in self.params]
        elif not have_weights:
            raise checkpoint.CheckpointError(
                f"{path} is missing and {state_path} holds no weights; move {state_path} away to start afresh")
        arrays = checkpoint.match_to_variables(state, names, shapes, state_path)
        nslots = len(self._slots)
        slots, timestep = arrays[:nslots], int(arrays[nslots])
        if not with_weights:  # older format, written after its .save: trusted as before
            self._assign(self.get_params() + slots, with_slots=True)
            return timestep, ""
        fingerprint, weights = arrays[nslots + 1], arrays[nslots + 2:]
        if not np.array_equal(checkpoint.fingerprint(weights), fingerprint):
            raise checkpoint.CheckpointError(f"{state_path}: its weights do not match their fingerprint (damaged file)")
        note = ""
        if not have_weights:
            note = f"{path} is missing; resuming from the weights saved in {state_path}"
        elif not np.array_equal(loaded := checkpoint.fingerprint(self.get_params()), fingerprint):
            if previous is not None and not np.array_equal(loaded, previous):  # previous is [] if none was
                raise checkpoint.CheckpointError(
                    f"{path} holds other weights than {state_path} was saved with or after (it was not written "
                    f"by this run); move one of the two away")
            note = (f"{path} is older than {state_path} (a stop between their writes); "
                    f"resuming from the weights saved in {state_path}")
        self._assign(weights + slots, with_slots=True)
        return timestep, note

    def _fingerprint_of_file(self, path: str) -> Optional[np.ndarray]:
        """Fingerprint of the weights in the ``.save`` at ``path``, in this model's variable order, as
        :meth:`load` would assign them; None if there is no such file or it does not fit this model."""
        if not os.path.exists(path):
            return None
        try:
            loaded = checkpoint.load_params(path)
            shapes = [tuple(v.shape.as_list()) for v in self.params]
            arrays = checkpoint.match_to_variables(loaded, self.param_names, shapes, path)
        except checkpoint.CheckpointError:
            return None
        return checkpoint.fingerprint([np.asarray(a, v.dtype.base_dtype.as_numpy_dtype)
                                       for a, v in zip(arrays, self.params)])

    def close(self) -> None:
        self.sess.close()
