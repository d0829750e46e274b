"""joblib ``.save`` checkpoints: atomic writes and a loader that never runs code.

Format (the seed's): ``joblib.dump(list_of_arrays)`` in trainable-variable order. The later
name-keyed form, ``{variable_name: array}``, loads too. joblib files are pickles, and unpickling
can import and call anything, so loading goes through an unpickler that only resolves an
allow-list of numpy/joblib globals and refuses every other import before it happens.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from typing import Any, Union

import joblib
import numpy as np
from joblib import numpy_pickle

from a2c_tf1.files import atomic_write

ArraysOrDict = Union[list, dict]


class CheckpointError(Exception):
    """A checkpoint file is missing, damaged, unsafe or does not fit the model."""


# (module, name) pairs a checkpoint may reference: array reconstruction only.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("builtins", "bytearray"),
    ("_codecs", "encode"),
}


class _SafeNumpyUnpickler(numpy_pickle.NumpyUnpickler):
    """joblib's unpickler (which reads the arrays stored after the pickle) with imports restricted."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise CheckpointError(
                f"refusing to load: the file asks to import {module}.{name}, which a checkpoint never needs "
                f"(it may be a malicious pickle)")
        return super().find_class(module, name)

    def load_build(self) -> None:
        # joblib reads object-dtype arrays with a plain pickle.load that would bypass find_class,
        # so such an array is refused before its payload is read.
        state, obj = self.stack[-1], self.stack[-2]
        if isinstance(obj, numpy_pickle.NumpyArrayWrapper):
            dtype = state.get("dtype") if isinstance(state, dict) else None
            if not isinstance(dtype, np.dtype) or dtype.hasobject:
                raise CheckpointError("refusing to load: the file holds an object array, which may run code")
        numpy_pickle.NumpyUnpickler.load_build(self)

    dispatch = dict(numpy_pickle.NumpyUnpickler.dispatch)
    dispatch[pickle.BUILD[0]] = load_build


def load_params(path: str) -> ArraysOrDict:
    """Read a checkpoint written by :func:`save_params` or by the seed/baselines.

    Returns:
        list of float32 arrays (seed format) or dict name -> array (name-keyed format).

    Raises:
        CheckpointError: missing, truncated, not a joblib pickle, unsafe, or holding something other
            than arrays.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with open(path, "rb") as raw:
            # joblib's own reader undoes any compression joblib.dump(compress=...) applied.
            with numpy_pickle._validate_fileobject_and_memmap(raw, path, None) as (fobj, _):
                unpickler = _SafeNumpyUnpickler(path, fobj, ensure_native_byte_order=True, mmap_mode=None)
                content = unpickler.load()
    except CheckpointError:
        raise
    except Exception as exc:  # a damaged file can fail anywhere in pickle, numpy or struct; all mean the same
        raise CheckpointError(
            f"{path} is truncated or not a joblib checkpoint ({type(exc).__name__}: {exc})") from None
    return _validate_content(content, path)


def _validate_content(content: Any, path: str) -> ArraysOrDict:
    if isinstance(content, dict):
        items = content.items()
    elif isinstance(content, (list, tuple)):
        items = enumerate(content)
        content = list(content)
    else:
        raise CheckpointError(f"{path} holds a {type(content).__name__}, not a list or dict of arrays")
    for key, value in items:
        if not isinstance(value, np.ndarray):
            raise CheckpointError(f"{path}: entry {key!r} is a {type(value).__name__}, not an array")
    return content


def save_params(path: str, arrays: ArraysOrDict) -> None:
    """Atomically ``joblib.dump`` a list (seed format) or dict of arrays to ``path``."""
    payload = {k: np.asarray(v) for k, v in arrays.items()} if isinstance(arrays, dict) else [np.asarray(a) for a in arrays]
    atomic_write(path, lambda fileobj: joblib.dump(payload, fileobj))


def match_to_variables(loaded: ArraysOrDict, names: list[str], shapes: list[tuple], path: str) -> list[np.ndarray]:
    """Order ``loaded`` like the model's variables and check every count, name and shape.

    Args:
        loaded: what :func:`load_params` returned.
        names: variable names without the ``:0`` suffix, in creation order.
        shapes: their shapes.

    Raises:
        CheckpointError: naming the first variable that is missing, extra or of the wrong shape.
    """
    if isinstance(loaded, dict):
        missing = [n for n in names if n not in loaded]
        extra = [k for k in loaded if k not in names]
        if missing or extra:
            raise CheckpointError(
                f"{path} does not fit this model: missing {missing or 'none'}, unexpected {extra or 'none'}")
        arrays = [loaded[n] for n in names]
    else:
        if len(loaded) != len(names):
            raise CheckpointError(
                f"{path} holds {len(loaded)} arrays but the model has {len(names)} variables "
                f"(first unmatched: {names[len(loaded)] if len(loaded) < len(names) else 'extra array #' + str(len(names))}); "
                f"was it saved with another --policy?")
        arrays = list(loaded)
    for name, shape, array in zip(names, shapes, arrays):
        if tuple(array.shape) != tuple(shape):
            raise CheckpointError(
                f"{path}: variable {name} has shape {tuple(array.shape)} in the file but {tuple(shape)} in the model "
                f"(another game's action count or another --policy?)")
    return arrays


def fingerprint(arrays: list) -> np.ndarray:
    """sha256 over the arrays in order: each one's dtype, shape and bytes; ``uint8[32]``.

    Two lists share a fingerprint only if they hold the same values with the same dtypes and shapes in
    the same order, so it tells whether a ``.save`` holds the very weights a ``.state`` was written with.
    """
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array.tobytes())
    return np.frombuffer(digest.digest(), np.uint8).copy()
