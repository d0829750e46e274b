"""The cluster-spec file of an A3C cluster: ``{"ps": ["host:port", ...], "worker": ["host:port", ...]}``.

Read and checked without TensorFlow, so that a role started with a bad spec says so at once, before
the seconds TensorFlow's import takes.
"""
from __future__ import annotations

import json


class ClusterSpecError(ValueError):
    """The cluster-spec file is missing or malformed, or the task is not in it."""


def _is_address(text) -> bool:
    """``host:port`` with a port TensorFlow can listen on."""
    if not isinstance(text, str) or ":" not in text:
        return False
    host, port = text.rsplit(":", 1)
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


def load_cluster_spec(path: str, job: str, task: int) -> dict:
    """``{"ps": ["host:port", ...], "worker": ["host:port", ...]}`` from a JSON file, checked."""
    try:
        with open(path) as f:
            spec = json.load(f)
    except (OSError, ValueError) as exc:
        raise ClusterSpecError(f"cannot read the cluster spec {path}: {exc}") from None
    if not isinstance(spec, dict) or set(spec) != {"ps", "worker"} or not all(
            isinstance(spec[k], list) and spec[k] and all(_is_address(a) for a in spec[k]) for k in ("ps", "worker")):
        raise ClusterSpecError(f"{path} must hold {{\"ps\": [\"host:port\", ...], \"worker\": [\"host:port\", ...]}} "
                               f"with ports 1-65535")
    addresses = spec["ps"] + spec["worker"]
    if len(set(addresses)) != len(addresses):
        raise ClusterSpecError(f"{path} lists an address twice: every role needs its own port")
    if not 0 <= task < len(spec[job]):
        raise ClusterSpecError(f"--task {task} is not in {path}: it lists {len(spec[job])} {job} task(s)")
    return spec
