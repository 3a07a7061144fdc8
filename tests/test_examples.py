"""The examples reach what their docstrings promise."""
from __future__ import annotations

import os
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
sys.path.insert(0, EXAMPLES)

import mnist_mlp  # noqa: E402
import xor  # noqa: E402


def test_xor_reaches_100_percent_and_the_loss_falls(capsys):
    accuracy, losses = xor.train(verbose=True)
    assert accuracy == 1.0
    assert losses[-1] < 0.05 < losses[0]
    assert "accuracy 100%" in capsys.readouterr().out


def test_xor_main_exit_code_reflects_success():
    assert xor.main(["--backend", "numpy"]) == 0
    assert xor.main(["--backend", "numpy", "--seed", "0"]) == 1     # the documented local minimum


@pytest.mark.slow
def test_mnist_mlp_reaches_97_5_percent_in_two_epochs():
    from fastnn.data import MNIST
    try:
        MNIST(train=False)
    except Exception as exc:
        if os.environ.get("FASTNN_REQUIRE_DATA") == "1":
            pytest.fail(f"FASTNN_REQUIRE_DATA=1 but MNIST is not loadable: {exc}")
        pytest.skip(f"MNIST is not available here: {exc}")
    accuracy = mnist_mlp.main(["--epochs", "2"])
    assert accuracy >= 0.975
