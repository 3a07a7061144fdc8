"""``import fastnn`` keeps freed memory for reuse (fastnn/_malloc.py): a big array allocated
again after being freed must not be faulted in afresh. Counted in minor page faults (not
timed), in subprocesses so that the setting of this test process does not matter."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHURN = """
import resource, sys
import numpy as np
import fastnn, fastnn._malloc as m
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):                        # warm up: the heap grows to its working size
    a = np.ones(2 << 20, dtype=np.float32); b = np.ones(2 << 20, dtype=np.float32); del a, b
before = faults()
for _ in range(20):                       # 20 x 2 arrays of 8 MB, each written in full
    a = np.ones(2 << 20, dtype=np.float32); b = np.ones(2 << 20, dtype=np.float32); del a, b
print(m.status)
print((faults() - before) / 40)           # minor faults per 8 MB array
"""


def churn(env_extra: dict) -> tuple[str, float]:
    env = {**os.environ, **env_extra, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", CHURN], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    status, per_array = proc.stdout.split("\n")[:2]
    return status, float(per_array)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_freed_arrays_are_reused_without_page_faults():
    status, per_array = churn({"FASTNN_MALLOC_TUNING": "1"})
    assert status.startswith("on"), status
    assert per_array < 50, f"{per_array:.0f} minor page faults per 8 MB array with the tuning on"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_the_tuning_can_be_turned_off():
    """FASTNN_MALLOC_TUNING=0 leaves glibc's defaults: freed arrays go back to the OS and the
    next ones are faulted in again (2048 pages of 4 kB per 8 MB array; fewer, but still some,
    when transparent huge pages are always on)."""
    status_off, off = churn({"FASTNN_MALLOC_TUNING": "0"})
    status_on, on = churn({"FASTNN_MALLOC_TUNING": "1"})
    assert status_off.startswith("off"), status_off
    assert off > on, f"{off:.0f} page faults per array with the tuning off, {on:.0f} with it on"
