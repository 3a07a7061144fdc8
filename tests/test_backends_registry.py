"""The backend registry: listing, selecting (set_backend, use_backend, FASTNN_BACKEND),
lazy imports, the kernel contract's completeness for every available backend, and
set_num_threads' argument checks."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import fastnn
from fastnn import backends
from fastnn.backends import contract

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code: str, **env_vars) -> subprocess.CompletedProcess:
    """Run ``python -c code`` in a fresh interpreter with the repository importable."""
    env = {k: v for k, v in os.environ.items() if k != "FASTNN_BACKEND"}
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_vars)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=120)


@pytest.fixture(autouse=True)
def restore_backend():
    """Tests here switch backends: put the process-wide choice back afterwards."""
    saved_default, saved_local = backends._default_name, getattr(backends._state, "name", None)
    yield
    backends._default_name = saved_default
    backends._state.name = saved_local


# =========================================================================== listing and selection

def test_numpy_is_always_available():
    names = backends.available()
    assert "numpy" in names
    assert names == [n for n in ("cython", "numba", "numpy") if n in names]   # fastest first
    assert fastnn.available_backends() == names
    assert backends.get("numpy").name == "numpy"


def test_unavailable_backends_have_reasons():
    reasons = backends.unavailable_reasons()
    assert "numpy" not in reasons
    for name, why in reasons.items():
        assert name in ("cython", "numba") and why


def test_set_backend():
    backends.set_backend("numpy")
    assert backends.current_name() == "numpy"
    assert backends.get().name == "numpy"
    fastnn.set_backend("auto")
    assert backends.current_name() == "auto"
    assert backends.get().name in backends.available()


def test_set_backend_is_case_and_space_insensitive():
    fastnn.set_backend("  NumPy ")
    assert backends.get().name == "numpy"


def test_use_backend_restores_on_exit():
    fastnn.set_backend("auto")
    before = backends.get()
    with fastnn.use_backend("numpy") as b:
        assert b.name == "numpy"
        assert backends.get().name == "numpy"
        with fastnn.use_backend("auto"):
            assert backends.current_name() == "auto"
        assert backends.get().name == "numpy"
    assert backends.current_name() == "auto"
    assert backends.get() is before


def test_use_backend_restores_on_exception():
    fastnn.set_backend("auto")
    with pytest.raises(ZeroDivisionError):
        with fastnn.use_backend("numpy"):
            assert backends.get().name == "numpy"
            1 / 0
    assert backends.current_name() == "auto"


def test_use_backend_drives_functional_ops():
    import numpy as np

    import fastnn.nn.functional as F
    with fastnn.use_backend("numpy"):
        y = F.relu(fastnn.tensor([-1.0, 2.0]))
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0])


@pytest.mark.parametrize("call", [fastnn.set_backend, lambda n: fastnn.use_backend(n).__enter__(),
                                  backends.get])
def test_unknown_name_raises_value_error_listing_choices(call):
    with pytest.raises(ValueError, match=r"'nope'.*cython.*numba.*numpy"):
        call("nope")


def test_backend_name_must_be_a_string():
    with pytest.raises(TypeError):
        fastnn.set_backend(3)


def test_unavailable_backend_fails_at_selection(monkeypatch):
    """A backend whose module cannot be imported (e.g. Cython not compiled) is left out of
    available(), skipped by "auto", and refused by name with the reason."""
    monkeypatch.setitem(backends._REGISTRY, "cython", ("fastnn.backends._not_built", "CythonBackend"))
    monkeypatch.delitem(backends._instances, "cython", raising=False)
    monkeypatch.setattr(backends, "_unavailable", {})
    assert "cython" not in backends.available()
    assert "_not_built" in backends.unavailable_reasons()["cython"]
    with pytest.raises(RuntimeError, match="not available"):
        fastnn.set_backend("cython")
    with backends.use_backend("auto") as chosen:
        assert chosen.name != "cython"


# =========================================================================== environment and imports

def test_fastnn_backend_env_var_is_honoured():
    r = run_python("import fastnn; print(fastnn.backends.get().name)", FASTNN_BACKEND="numpy")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "numpy"


def test_fastnn_backend_env_var_unknown_name():
    r = run_python("import fastnn; fastnn.backends.get()", FASTNN_BACKEND="bogus")
    assert r.returncode != 0
    assert "ValueError" in r.stderr and "bogus" in r.stderr and "numpy" in r.stderr


def test_default_is_auto_and_resolves_to_an_available_backend():
    code = "import fastnn; print(fastnn.backends.current_name(), fastnn.backends.get().name)"
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    requested, resolved = r.stdout.split()
    assert requested == "auto"
    assert resolved in ("cython", "numba", "numpy")


def test_import_is_lazy_and_fast():
    code = ("import sys, time\n"
            "t = time.perf_counter()\n"
            "import fastnn\n"
            "print(time.perf_counter() - t)\n"
            "print(sorted(m for m in ('numba', 'torch', 'fastnn._cython._activation', "
            "'fastnn.backends.numba_kernels', 'fastnn.backends.cython_kernels') if m in sys.modules))\n")
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    seconds, loaded = r.stdout.splitlines()
    assert loaded == "[]", f"import fastnn loaded {loaded}"
    assert float(seconds) < 1.0, f"import fastnn took {float(seconds):.2f} s"


# =========================================================================== the contract

@pytest.mark.parametrize("name", backends.available())
def test_available_backend_implements_every_kernel(name):
    b = backends.get(name)
    assert isinstance(b, contract.Backend)
    assert b.name == name
    missing, abstract = [], []
    for kernel in contract.KERNELS:
        impl = getattr(type(b), "_" + kernel, None)
        if impl is None or not callable(getattr(b, "_" + kernel)):
            missing.append(kernel)
        elif impl is getattr(contract.Backend, "_" + kernel, object()):
            abstract.append(kernel)
        assert callable(getattr(b, kernel)), f"public {kernel} missing"
    assert not missing, f"backend {name} lacks {missing}"
    assert not abstract, f"backend {name} only has the abstract {abstract}"


def test_contract_table_is_consistent():
    assert len(contract.KERNELS) == len(set(contract.KERNELS))
    assert set(contract.KERNELS) == {k for ks in contract.KERNEL_FAMILIES.values() for k in ks}
    assert set(contract.KERNEL_FAMILIES) == {"gemm", "conv", "pool", "activation", "loss", "norm"}
    for kernel in contract.KERNELS:          # every kernel has a validating public method
        assert callable(getattr(contract.Backend, kernel))


# =========================================================================== threads

@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", None, True])
def test_set_num_threads_validates(bad):
    with pytest.raises((ValueError, TypeError)):
        fastnn.set_num_threads(bad)


def test_set_num_threads_roundtrip():
    r = run_python("import fastnn; fastnn.set_num_threads(1); print(fastnn.get_num_threads());"
                   "fastnn.backends.get('numpy'); fastnn.set_num_threads(2); print(fastnn.get_num_threads())")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "2"]
