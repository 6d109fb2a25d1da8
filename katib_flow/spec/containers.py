"""Where the containers of a trial's run object live, per kind.

A batch Job keeps them under ``spec.template.spec.containers``; Kubeflow
training jobs under ``spec.<kind>ReplicaSpecs.<role>.template.spec.containers``;
for any other kind every ``containers`` list of pod templates in the object
counts. Validation uses this to find the primary container; the engine uses it
to derive a trial's local command line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .paths import FieldPath

__all__ = ["iter_containers"]


def iter_containers(trial_spec: Mapping[str, Any], base: FieldPath) -> Iterator[tuple[FieldPath, Mapping[str, Any]]]:
    """Each container mapping of ``trial_spec`` with its field path, depth first."""
    yield from _walk(trial_spec, base)


def _walk(node: Any, path: FieldPath) -> Iterator[tuple[FieldPath, Mapping[str, Any]]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            child = path.child(str(key))
            if key in ("containers", "initContainers") and isinstance(value, list):
                if key == "containers":
                    for i, item in enumerate(value):
                        if isinstance(item, Mapping):
                            yield child.index(i), item
                continue
            yield from _walk(value, child)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, path.index(i))
