"""Shared pytest fixtures and helpers.

Optional dependencies (PyTorch, the compiled Cython backend) make their tests *skip*
on a developer's machine that lacks them, but *fail* in CI, where the environment
variables below are set, so a broken build or install cannot pass as "all skipped":

* ``FASTNN_REQUIRE_TORCH=1``  -- tests that compare against PyTorch must have it;
* ``FASTNN_REQUIRE_CYTHON=1`` -- the compiled Cython backend must be importable.
"""
from __future__ import annotations

import os

import pytest


def _required(var: str) -> bool:
    return os.environ.get(var, "").strip() == "1"


def require_torch():
    """The ``torch`` module; skips the calling test without it, or fails it when
    ``FASTNN_REQUIRE_TORCH=1``."""
    try:
        import torch
    except ImportError as exc:
        if _required("FASTNN_REQUIRE_TORCH"):
            pytest.fail(f"FASTNN_REQUIRE_TORCH=1 but torch cannot be imported: {exc}")
        pytest.skip(f"torch is not installed ({exc})")
    return torch


def require_backend(name: str):
    """The backend object ``name``; skips without it, or fails when ``FASTNN_REQUIRE_<NAME>=1``."""
    from fastnn import backends
    if name in backends.available():
        return backends.get(name)
    reason = backends.unavailable_reasons().get(name, "not installed")
    var = f"FASTNN_REQUIRE_{name.upper()}"
    if _required(var):
        pytest.fail(f"{var}=1 but the {name} backend is not available: {reason}")
    pytest.skip(f"the {name} backend is not available: {reason}")


@pytest.fixture
def torch():
    """The ``torch`` module (see :func:`require_torch`)."""
    return require_torch()


@pytest.fixture
def cython_backend():
    """The compiled Cython backend (see :func:`require_backend`)."""
    return require_backend("cython")


# make tests/strategies.py importable as `strategies` whatever pytest's import mode
import sys as _sys  # noqa: E402

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if _TESTS_DIR not in _sys.path:
    _sys.path.insert(0, _TESTS_DIR)
