"""Katib's own ``api.proto`` and ``health.proto`` (from ``../shared/katib-api``), compiled for a test.

The generated modules are what Katib's controllers and algorithm services are
built from: a test that talks to katib-flow through them talks as Katib does.
They are compiled once per session into a temporary folder with grpcio-tools
and never copied into the project; without ``../shared`` the tests skip.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from functools import cache
from types import ModuleType

import pytest

from ..conftest import SHARED

KATIB_API = SHARED / "katib-api"


@cache
def katib_modules() -> tuple[ModuleType, ModuleType]:
    """Katib's ``api_pb2`` and ``api_pb2_grpc``, compiled from its proto (skips without ../shared)."""
    if not (KATIB_API / "api.proto").is_file():
        pytest.skip(f"Katib's api.proto is not at {KATIB_API}")
    protoc = pytest.importorskip("grpc_tools.protoc")
    out = tempfile.mkdtemp(prefix="katib-api-")
    args = ["protoc", f"-I{KATIB_API}", f"--python_out={out}", f"--grpc_python_out={out}", str(KATIB_API / "api.proto")]
    assert protoc.main(args) == 0, "protoc failed on Katib's api.proto"
    sys.path.insert(0, out)
    try:
        return importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")
    finally:
        sys.path.remove(out)
