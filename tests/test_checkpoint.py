"""Checkpoint round trips, the seed's file format, refusal of bad/unsafe files, atomic saves and exact resume.

Everything runs in-process on tiny agents (nenvs=2, nsteps=2, one TF thread) and writes only under tmp_path.
"""
from __future__ import annotations

import glob
import os
import pickle

import joblib
import numpy as np
import pytest
from gymnasium import spaces

from a2c_tf1 import checkpoint
from a2c_tf1.agent import Agent
from a2c_tf1.checkpoint import CheckpointError
from a2c_tf1.policies import CnnPolicy

NENVS, NSTEPS, NSTACK, NACT = 2, 2, 4, 4
OB_SPACE = spaces.Box(0, 255, (84, 84, 1), np.uint8)
AC_SPACE = spaces.Discrete(NACT)

CNN_NAMES = ["model/c1/w", "model/c1/b", "model/c2/w", "model/c2/b", "model/c3/w", "model/c3/b",
             "model/fc1/w", "model/fc1/b", "model/pi/w", "model/pi/b", "model/v/w", "model/v/b"]
CNN_SHAPES = [(8, 8, 4, 32), (32,), (4, 4, 32, 64), (64,), (3, 3, 64, 64), (64,),
              (3136, 512), (512,), (512, NACT), (NACT,), (512, 1), (1,)]


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """Best effort: one OpenBLAS thread while these tests build agents.

    The CNN's orthogonal init runs an SVD of a 3136x512 matrix; on a 2-core machine busy with another run,
    numpy's 2 OpenBLAS threads spin waiting for each other and it takes ~13 s instead of ~0.3 s.
    """
    try:
        import ctypes

        found = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "libscipy_openblas*.so"))
        lib = ctypes.CDLL(found[0])
        get, set_ = lib.scipy_openblas_get_num_threads64_, lib.scipy_openblas_set_num_threads64_
        before = get()
        set_(1)
    except (IndexError, OSError, AttributeError):
        yield
        return
    yield
    set_(before)


def make_agent(seed: int) -> Agent:
    return Agent(CnnPolicy, OB_SPACE, AC_SPACE, NENVS, NSTEPS, NSTACK, seed=seed, num_threads=1,
                 total_timesteps=100_000)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """An agent (seed 0), the path of its save, and the parameters that were saved."""
    folder = tmp_path_factory.mktemp("saved")
    agent = make_agent(seed=0)
    path = str(folder / "agent.save")
    agent.save(path)
    params = agent.get_params()
    yield agent, path, params
    agent.close()


@pytest.fixture(scope="module")
def fresh():
    """One agent with other weights (seed 1); each test that loads into it restores what it needs."""
    agent = make_agent(seed=1)
    agent.initial_params = agent.get_params()
    agent.initial_slots = agent.sess.run([slot for _, slot in agent._slots])
    yield agent
    agent.close()


@pytest.fixture()
def obs():
    return np.random.RandomState(7).randint(0, 256, size=(NENVS, 84, 84, NSTACK), dtype=np.uint8)


def batch(seed: int = 3):
    rng = np.random.RandomState(seed)
    nbatch = NENVS * NSTEPS
    return (rng.randint(0, 256, size=(nbatch, 84, 84, NSTACK), dtype=np.uint8),
            rng.randn(nbatch).astype(np.float32),
            rng.randint(0, NACT, size=nbatch).astype(np.int32),
            rng.randn(nbatch).astype(np.float32))


def assert_params_equal(a: list, b: list) -> None:
    assert len(a) == len(b) == 12
    for name, x, y in zip(CNN_NAMES, a, b):
        assert np.array_equal(x, y), name


def reset_fresh(fresh: Agent, saved_params: list) -> None:
    """Put the shared `fresh` agent back to its own seed-1 weights (which differ from the saved ones) and
    untouched optimizer slots."""
    fresh._assign(fresh.initial_params + fresh.initial_slots, with_slots=True)
    assert not np.array_equal(fresh.get_params()[0], saved_params[0])


# ---- round trip ------------------------------------------------------------------------------

def test_variable_order_and_shapes(saved):
    agent, _, _ = saved
    assert agent.param_names == CNN_NAMES
    assert [tuple(v.shape.as_list()) for v in agent.params] == CNN_SHAPES


def test_save_load_round_trip_in_a_fresh_agent(saved, obs):
    agent, path, params = saved
    other = make_agent(seed=1)  # its own tf.Graph and Session
    try:
        assert other.graph is not agent.graph
        assert not all(np.array_equal(x, y) for x, y in zip(params, other.get_params())), \
            "a different seed should start from different weights"
        other.load(path)
        assert_params_equal(other.get_params(), params)
        np.testing.assert_array_equal(other.value(obs), agent.value(obs))
        np.testing.assert_array_equal(other.greedy_step(obs), agent.greedy_step(obs))
    finally:
        other.close()


def test_saved_file_is_the_seed_format(saved):
    agent, path, params = saved
    content = joblib.load(path)
    assert type(content) is list
    assert len(content) == 12
    for name, shape, array, expected in zip(CNN_NAMES, CNN_SHAPES, content, params):
        assert type(array) is np.ndarray, name
        assert array.dtype == np.float32, name
        assert array.shape == shape, name
        assert np.array_equal(array, expected), name


def test_load_params_returns_the_list(saved):
    _, path, params = saved
    loaded = checkpoint.load_params(path)
    assert isinstance(loaded, list) and len(loaded) == 12
    assert_params_equal(loaded, params)


@pytest.mark.parametrize("how", ["plain_list", "tuple", "dict", "dict_reversed", "compressed_list"])
def test_other_writers_load(saved, fresh, tmp_path, obs, how):
    agent, _, params = saved
    reset_fresh(fresh, params)
    path = str(tmp_path / "other.save")
    if how == "plain_list":
        joblib.dump([np.array(p) for p in params], path)
    elif how == "tuple":
        joblib.dump(tuple(np.array(p) for p in params), path)
    elif how == "dict":
        joblib.dump(dict(zip(CNN_NAMES, params)), path)
    elif how == "dict_reversed":
        joblib.dump(dict(reversed(list(zip(CNN_NAMES, params)))), path)
    elif how == "compressed_list":
        joblib.dump([np.array(p) for p in params], path, compress=3)
    fresh.load(path)
    assert_params_equal(fresh.get_params(), params)
    np.testing.assert_array_equal(fresh.value(obs), agent.value(obs))


# ---- bad files -------------------------------------------------------------------------------

class _SystemCall:
    """Unpickling this runs os.system (a shell command that creates a marker file)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _OpenForWrite:
    """Unpickling this calls builtins.open(marker, 'w'), which creates the marker file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _expect_error(agent: Agent, path: str, *fragments: str) -> str:
    before = agent.get_params()
    with pytest.raises(CheckpointError) as info:
        agent.load(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    # a refused file changes nothing in the model
    assert_params_equal(agent.get_params(), before)
    return message


def test_missing_file(fresh, tmp_path):
    path = str(tmp_path / "nope.save")
    _expect_error(fresh, path, "no checkpoint", path)
    with pytest.raises(CheckpointError):
        checkpoint.load_params(str(tmp_path))  # a folder is not a checkpoint either


def test_truncated_file(saved, fresh, tmp_path):
    _, path, _ = saved
    data = open(path, "rb").read()
    bad = tmp_path / "half.save"
    bad.write_bytes(data[: len(data) // 2])
    _expect_error(fresh, str(bad), "truncated or not a joblib checkpoint", str(bad))


def test_truncated_in_the_pickle_header(saved, fresh, tmp_path):
    _, path, _ = saved
    bad = tmp_path / "head.save"
    bad.write_bytes(open(path, "rb").read()[:40])
    _expect_error(fresh, str(bad), "truncated or not a joblib checkpoint")


@pytest.mark.parametrize("cut", [7, 168])
def test_truncated_inside_a_length_field(saved, fresh, tmp_path, cut):
    """BUG: a file cut inside a pickle length field (the 8-byte FRAME size at byte 3..10, or a string
    length) makes pickle raise struct.error, which load_params does not turn into CheckpointError
    (the CLI then dies with a traceback instead of 'cannot resume')."""
    _, path, _ = saved
    bad = tmp_path / "cut.save"
    bad.write_bytes(open(path, "rb").read()[:cut])
    _expect_error(fresh, str(bad), "truncated or not a joblib checkpoint", str(bad))


def test_damaged_dtype_state(saved, fresh, tmp_path):
    """BUG: one damaged byte in an array's dtype state (a MEMOIZE opcode turned into DUP, so the state tuple
    gets an extra item) makes numpy's dtype.__setstate__ raise SystemError, which escapes load_params."""
    _, path, _ = saved
    data = bytearray(open(path, "rb").read())
    at = data.index(b"\x8c\x01<\x94")  # the byte-order field '<' of the first dtype state, then MEMOIZE
    data[at + 3] = ord(pickle.DUP)
    bad = tmp_path / "dtype.save"
    bad.write_bytes(bytes(data))
    _expect_error(fresh, str(bad), str(bad))


def test_text_file(fresh, tmp_path):
    bad = tmp_path / "notes.save"
    bad.write_text("these are not the weights you are looking for\n")
    _expect_error(fresh, str(bad), "truncated or not a joblib checkpoint", str(bad))


def test_empty_file(fresh, tmp_path):
    bad = tmp_path / "empty.save"
    bad.write_bytes(b"")
    _expect_error(fresh, str(bad), "truncated or not a joblib checkpoint", str(bad))


def test_eleven_arrays_names_the_first_unmatched_variable(saved, fresh, tmp_path):
    _, _, params = saved
    bad = str(tmp_path / "eleven.save")
    joblib.dump(params[:11], bad)
    _expect_error(fresh, bad, "11 arrays", "12 variables", "model/v/b")


def test_thirteen_arrays(saved, fresh, tmp_path):
    _, _, params = saved
    bad = str(tmp_path / "thirteen.save")
    joblib.dump(params + [np.zeros(3, np.float32)], bad)
    _expect_error(fresh, bad, "13 arrays", "12 variables")


def test_wrong_shape_names_variable_and_both_shapes(saved, fresh, tmp_path):
    _, _, params = saved
    arrays = list(params)
    arrays[8] = np.zeros((512, 6), np.float32)  # model/pi/w of a 6-action game
    bad = str(tmp_path / "pong.save")
    joblib.dump(arrays, bad)
    _expect_error(fresh, bad, "model/pi/w", "(512, 6)", "(512, 4)")


def test_dict_missing_a_key(saved, fresh, tmp_path):
    _, _, params = saved
    named = dict(zip(CNN_NAMES, params))
    del named["model/fc1/b"]
    bad = str(tmp_path / "missing.save")
    joblib.dump(named, bad)
    _expect_error(fresh, bad, "model/fc1/b", "missing")


def test_dict_with_an_unexpected_key(saved, fresh, tmp_path):
    _, _, params = saved
    named = dict(zip(CNN_NAMES, params))
    named["model/fc2/w"] = np.zeros((64, 64), np.float32)
    bad = str(tmp_path / "extra.save")
    joblib.dump(named, bad)
    _expect_error(fresh, bad, "model/fc2/w", "unexpected")


@pytest.mark.parametrize("payload", ["system", "open", "system_in_list", "open_in_dict"])
@pytest.mark.parametrize("writer", ["joblib", "pickle"])
def test_malicious_pickle_is_refused_without_running(saved, fresh, tmp_path, payload, writer):
    _, _, params = saved
    marker = tmp_path / "pwned"
    evil = _SystemCall(str(marker)) if "system" in payload else _OpenForWrite(str(marker))
    if payload.endswith("in_list"):
        evil = list(params[:3]) + [evil]
    elif payload.endswith("in_dict"):
        evil = {"model/c1/w": params[0], "model/c1/b": evil}
    bad = str(tmp_path / "evil.save")
    if writer == "joblib":
        joblib.dump(evil, bad)
    else:
        with open(bad, "wb") as f:
            pickle.dump(evil, f)
    assert not marker.exists()
    _expect_error(fresh, bad, "refusing to load")
    assert not marker.exists(), "the pickle's code ran while loading"


@pytest.mark.parametrize("payload", ["system", "open"])
def test_object_array_is_refused_without_running(saved, fresh, tmp_path, payload):
    _, _, params = saved
    marker = tmp_path / "pwned"
    evil = _SystemCall(str(marker)) if payload == "system" else _OpenForWrite(str(marker))
    holder = np.empty(1, dtype=object)
    holder[0] = evil
    bad = str(tmp_path / "objarray.save")
    joblib.dump(list(params[:11]) + [holder], bad)
    assert not marker.exists()
    _expect_error(fresh, bad, "refusing to load")
    assert not marker.exists(), "the object array's code ran while loading"


def test_plain_pickled_object_array_is_refused_without_running(fresh, tmp_path):
    """An ndarray pickled by plain pickle (not joblib's wrapper) inlines its objects; those globals are refused."""
    marker = tmp_path / "pwned"
    holder = np.empty(1, dtype=object)
    holder[0] = _SystemCall(str(marker))
    bad = str(tmp_path / "objarray.pkl")
    with open(bad, "wb") as f:
        pickle.dump([holder], f)
    _expect_error(fresh, bad, "refusing to load")
    assert not marker.exists()


@pytest.mark.parametrize("intruder", ["a string", 3, None, [1.0, 2.0], np.float32(1.0)])
def test_list_with_a_non_array(saved, fresh, tmp_path, intruder):
    _, _, params = saved
    bad = str(tmp_path / "mixed.save")
    joblib.dump(list(params[:5]) + [intruder] + list(params[6:]), bad)
    _expect_error(fresh, bad, "entry 5", "not an array")


def test_top_level_not_a_container(fresh, tmp_path):
    bad = str(tmp_path / "scalar.save")
    joblib.dump(np.zeros(3, np.float32), bad)
    _expect_error(fresh, bad, "not a list or dict of arrays")


# ---- atomic save -----------------------------------------------------------------------------

def test_save_params_is_atomic(saved, tmp_path, monkeypatch):
    _, _, params = saved
    path = str(tmp_path / "agent.save")
    checkpoint.save_params(path, params)
    old = open(path, "rb").read()

    def broken_dump(value, fileobj, *args, **kwargs):
        fileobj.write(b"half a checkpoint " * 1000)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(checkpoint.joblib, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save_params(path, [p * 2 for p in params])
    assert open(path, "rb").read() == old
    assert [name for name in os.listdir(tmp_path) if ".tmp" in name] == []  # temp files may be hidden (.name...)
    assert sorted(os.listdir(tmp_path)) == ["agent.save"]
    monkeypatch.undo()
    assert_params_equal(checkpoint.load_params(path), params)


def test_save_params_into_a_new_folder_leaves_no_tmp(saved, tmp_path):
    _, _, params = saved
    path = str(tmp_path / "deep" / "er" / "agent.save")
    checkpoint.save_params(path, params)
    checkpoint.save_params(path, params)  # overwrite
    assert sorted(os.listdir(tmp_path / "deep" / "er")) == ["agent.save"]
    assert_params_equal(checkpoint.load_params(path), params)


def test_agent_save_failure_keeps_old_file(saved, tmp_path, monkeypatch):
    agent, _, _ = saved
    path = str(tmp_path / "agent.save")
    agent.save(path)
    old = open(path, "rb").read()

    def interrupted_dump(value, fileobj, *args, **kwargs):
        fileobj.write(b"\x80\x04partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.joblib, "dump", interrupted_dump)
    with pytest.raises(KeyboardInterrupt):
        agent.save(path)
    assert open(path, "rb").read() == old
    assert os.listdir(tmp_path) == ["agent.save"]


# ---- exact resume ----------------------------------------------------------------------------

def _slot_values(agent: Agent) -> dict:
    return dict(zip([n for n, _ in agent._slots], agent.sess.run([s for _, s in agent._slots])))


def test_exact_resume_restores_slots_and_timestep(saved, fresh, tmp_path):
    first = make_agent(seed=0)
    second = make_agent(seed=5)
    no_state = fresh
    reset_fresh(fresh, saved[2])
    try:
        obs, returns, actions, values = batch(3)
        first.train(obs, returns, actions, values, timestep=0)
        first.train(*batch(4), timestep=NENVS * NSTEPS)
        slots = _slot_values(first)
        # TF1 RMSProp slots: rms starts at ones, momentum at zeros; after training both have moved
        assert len(slots) == 24
        assert any(not np.allclose(v, 1.0) for k, v in slots.items() if k.endswith("/rms"))

        path = str(tmp_path / "agent.save")
        first.save(path)
        first.save_training_state(path, 12345)
        assert os.path.exists(path + ".state")
        state = joblib.load(path + ".state")
        assert isinstance(state, dict) and int(state["timestep"]) == 12345

        assert _slot_values(second).keys() == slots.keys()
        second.load(path)
        assert second.load_training_state(path) == 12345
        for name, value in _slot_values(second).items():
            assert np.array_equal(value, slots[name]), name
        assert_params_equal(second.get_params(), first.get_params())

        no_state.load(path)  # weights only: slots stay fresh

        # one more identical update on all three: the resumed agent stays bit-identical, the other does not
        nxt = batch(9)
        timestep = 12345
        stats_first = first.train_with_diagnostics(*nxt, timestep=timestep)
        stats_second = second.train_with_diagnostics(*nxt, timestep=timestep)
        no_state.train_with_diagnostics(*nxt, timestep=timestep)
        assert stats_first == stats_second
        assert_params_equal(second.get_params(), first.get_params())
        for name, value in _slot_values(second).items():
            assert np.array_equal(value, _slot_values(first)[name]), name
        assert not all(np.array_equal(a, b) for a, b in zip(no_state.get_params(), first.get_params())), \
            "without the optimizer state the update should differ (else this test proves nothing)"
    finally:
        first.close()
        second.close()
        reset_fresh(fresh, saved[2])


def test_load_training_state_absent_returns_zero(saved, fresh, tmp_path):
    _, path, _ = saved
    assert not os.path.exists(path + ".state")
    assert fresh.load_training_state(path) == 0


def test_load_training_state_rejects_a_weights_file(saved, fresh, tmp_path):
    _, _, params = saved
    path = str(tmp_path / "x.save")
    checkpoint.save_params(path + ".state", params)  # a list, not a training-state dict
    with pytest.raises(CheckpointError, match="not a training-state file"):
        fresh.load_training_state(path)


def test_load_training_state_rejects_a_corrupt_state(fresh, tmp_path):
    path = str(tmp_path / "x.save")
    with open(path + ".state", "wb") as f:
        f.write(b"\x00garbage")
    with pytest.raises(CheckpointError, match="truncated or not a joblib checkpoint"):
        fresh.load_training_state(path)


# ---- the .save / .state pair -------------------------------------------------------------------
# save_checkpoint writes <path>.state (timestep, slots, a copy of the weights, their fingerprint) and then
# <path>. A stop between the two writes leaves a new .state beside an old .save; resume must take the
# weights, the slots and the timestep all from the .state's moment.

@pytest.fixture()
def trained(saved, fresh):
    """An agent trained one update (moment A), and the same agent after one more update (moment B)."""
    agent = make_agent(seed=0)
    reset_fresh(fresh, saved[2])
    try:
        agent.train(*batch(3), timestep=0)
        yield agent
    finally:
        agent.close()
        reset_fresh(fresh, saved[2])


def _moment(agent: Agent) -> tuple[list, dict]:
    return agent.get_params(), _slot_values(agent)


def _assert_moment(agent: Agent, moment: tuple[list, dict]) -> None:
    params, slots = moment
    assert_params_equal(agent.get_params(), params)
    for name, value in _slot_values(agent).items():
        assert np.array_equal(value, slots[name]), name


def test_checkpoint_pair_is_exact_and_save_keeps_the_seed_format(trained, fresh, tmp_path):
    path = str(tmp_path / "agent.save")
    trained.save_checkpoint(path, 1000)
    moment = _moment(trained)
    content = joblib.load(path)
    assert type(content) is list and len(content) == 12  # nothing added to the .save
    assert fresh.resume(path) == (1000, "")
    _assert_moment(fresh, moment)


def test_stop_between_the_two_writes_resumes_from_one_moment(trained, fresh, tmp_path, monkeypatch):
    path = str(tmp_path / "agent.save")
    trained.save_checkpoint(path, 1000)  # moment A, complete
    weights_a = checkpoint.load_params(path)
    trained.train(*batch(4), timestep=1000)
    moment_b = _moment(trained)
    assert not np.array_equal(moment_b[0][0], weights_a[0])

    real_save_params = checkpoint.save_params
    written = []

    def killed_on_the_second_write(target, arrays):
        if written:
            raise KeyboardInterrupt("killed between the two writes (simulated)")
        written.append(target)
        real_save_params(target, arrays)

    monkeypatch.setattr(checkpoint, "save_params", killed_on_the_second_write)
    with pytest.raises(KeyboardInterrupt):
        trained.save_checkpoint(path, 1004)  # moment B: only one of the two files gets written
    monkeypatch.undo()
    assert written == [path + ".state"]  # the .state goes first
    assert_params_equal(checkpoint.load_params(path), weights_a)  # the .save still holds moment A

    timestep, note = fresh.resume(path)
    assert timestep == 1004
    assert "older than" in note and path + ".state" in note
    _assert_moment(fresh, moment_b)  # weights, slots and timestep of moment B together


def test_missing_save_resumes_from_the_state(trained, fresh, tmp_path):
    path = str(tmp_path / "agent.save")
    trained.save_checkpoint(path, 1000)
    os.unlink(path)  # a first save stopped before its .save was written
    timestep, note = fresh.resume(path)
    assert timestep == 1000 and "missing" in note
    _assert_moment(fresh, _moment(trained))


def test_older_state_format_keeps_its_behaviour(trained, fresh, tmp_path):
    """A .state without fingerprint (written after its .save): weights from the .save, slots from the .state."""
    path = str(tmp_path / "agent.save")
    trained.save(path)
    moment = _moment(trained)
    checkpoint.save_params(path + ".state", {**moment[1], "timestep": np.array(777, np.int64)})
    assert fresh.resume(path) == (777, "")
    _assert_moment(fresh, moment)
    os.unlink(path)
    with pytest.raises(CheckpointError, match="holds no weights"):
        fresh.resume(path)


def test_state_weights_that_miss_their_fingerprint_are_refused(trained, fresh, tmp_path):
    path = str(tmp_path / "agent.save")
    trained.save_checkpoint(path, 1000)
    state = checkpoint.load_params(path + ".state")
    state["weights/model/v/b"] = state["weights/model/v/b"] + 1.0
    checkpoint.save_params(path + ".state", state)
    with pytest.raises(CheckpointError, match="fingerprint"):
        fresh.resume(path)


def test_state_weights_of_another_shape_name_the_variable(trained, fresh, tmp_path):
    path = str(tmp_path / "agent.save")
    trained.save_checkpoint(path, 1000)
    state = checkpoint.load_params(path + ".state")
    state["weights/model/pi/w"] = np.zeros((512, 6), np.float32)
    checkpoint.save_params(path + ".state", state)
    with pytest.raises(CheckpointError, match="weights/model/pi/w"):
        fresh.resume(path)


def test_fingerprint_sees_values_dtypes_shapes_and_order():
    a, b = np.arange(6, dtype=np.float32), np.ones(2, np.float32)
    base = checkpoint.fingerprint([a, b])
    assert base.dtype == np.uint8 and base.shape == (32,)
    assert np.array_equal(base, checkpoint.fingerprint([a.copy(), b.copy()]))
    for other in ([b, a], [a.reshape(2, 3), b], [a.astype(np.float64), b], [a, b * 2]):
        assert not np.array_equal(base, checkpoint.fingerprint(other))


# ---- a .save that this run did not write, and the run's settings ---------------------------------

def test_a_foreign_save_beside_the_state_is_refused_and_left_alone(trained, fresh, tmp_path):
    path = str(tmp_path / "agent.save")
    trained.save_checkpoint(path, 1000)
    foreign = [p + 0.5 for p in trained.get_params()]  # weights of neither moment of this run
    checkpoint.save_params(path, foreign)
    before = open(path, "rb").read(), open(path + ".state", "rb").read()
    with pytest.raises(CheckpointError, match="not written by this run"):
        fresh.resume(path)
    assert (open(path, "rb").read(), open(path + ".state", "rb").read()) == before


def test_a_first_save_stopped_between_its_writes_refuses_a_foreign_save(trained, fresh, tmp_path, monkeypatch):
    """The first .state of a run records that no .save existed: a .save found beside it later is foreign."""
    path = str(tmp_path / "agent.save")
    real_save_params = checkpoint.save_params
    monkeypatch.setattr(checkpoint, "save_params",
                        lambda target, arrays: real_save_params(target, arrays) if target.endswith(".state")
                        else (_ for _ in ()).throw(KeyboardInterrupt("killed before the .save")))
    with pytest.raises(KeyboardInterrupt):
        trained.save_checkpoint(path, 1000)
    monkeypatch.undo()
    assert checkpoint.load_params(path + ".state")["previous_weights_sha256"].shape == (0,)
    checkpoint.save_params(path, [p * 2 for p in trained.get_params()])
    with pytest.raises(CheckpointError, match="not written by this run"):
        fresh.resume(path)


def test_settings_are_recorded_and_a_resume_with_others_is_refused(trained, fresh, tmp_path):
    from a2c_tf1.agent import SettingsMismatch

    path = str(tmp_path / "agent.save")
    settings = {"env_id": "BreakoutNoFrameskip-v4", "nenvs": 8, "lr": 7e-4, "num_timesteps": 10_000_000}
    trained.save_checkpoint(path, 1000, settings)
    with pytest.raises(SettingsMismatch) as caught:
        fresh.resume(path, {**settings, "nenvs": 4, "lr": 1e-3})
    assert caught.value.differences == {"lr": (7e-4, 1e-3), "nenvs": (8, 4)}
    # settings the checkpoint did not record, and ignored ones, are not compared
    assert fresh.resume(path, {**settings, "num_timesteps": 20_000_000, "new_setting": 1},
                        ignore=("num_timesteps",)) == (1000, "")
    assert fresh.resume(path) == (1000, "")  # without settings to compare: as before
