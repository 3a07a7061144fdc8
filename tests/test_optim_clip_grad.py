"""``fastnn.nn.utils`` gradient clipping against ``torch.nn.utils``: the same total norm (a
0-d float32 Tensor) and the same clipped gradients for each norm type, including the
infinity norm, non-finite norms (``error_if_nonfinite``) and parameters without a gradient;
``clip_grad_value_``; ``parameters_to_vector`` / ``vector_to_parameters``."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import fastnn
from fastnn.nn import utils

SHAPES = [(4, 3), (5,), (2, 3, 2), (1,)]


def gradients(scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) * scale).astype(np.float32) for shape in SHAPES]


def make_params(lib, grads, without_grad=(2,)):
    """One parameter per gradient (zeros; the values do not matter), with the gradients
    listed in ``without_grad`` left as None."""
    params = []
    for i, g in enumerate(grads):
        p = lib.nn.Parameter(lib.zeros(*g.shape) if lib is fastnn else lib.zeros(g.shape))
        if i not in without_grad:
            p.grad = lib.tensor(g.copy())
        params.append(p)
    return params


def grads_of(params):
    return [None if p.grad is None else np.array(p.grad.detach().numpy() if hasattr(p.grad, "detach")
                                                else p.grad.data) for p in params]


def assert_same(actual_params, expected_params):
    for a, e in zip(grads_of(actual_params), grads_of(expected_params)):
        assert (a is None) == (e is None)
        if a is not None:
            assert a.dtype == e.dtype
            np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-7)


NORM_CASES = [
    (1.0, 2.0, 1.0),            # clipped
    (100.0, 2.0, 1.0),          # below the limit: untouched
    (2.0, 1, 1.0),
    (0.5, math.inf, 1.0),
    (0.5, "inf", 1.0),
    (0.3, -math.inf, 1.0),
    (0.7, 3.5, 1.0),
    (5.0, 0.5, 1.0),
    (1.0, 0, 1.0),              # "norm" 0: the count of non-zero entries (of the per-tensor norms)
    (1.0, 2.0, 1e4),            # big gradients
    (1.0, 2.0, 0.0),            # zero gradients: the 1e-6 keeps the scale finite
    (0.0, 2.0, 1.0),            # max_norm 0 zeroes them
]


@pytest.mark.parametrize("max_norm, norm_type, scale", NORM_CASES, ids=lambda v: str(v))
def test_clip_grad_norm_matches_pytorch(torch, max_norm, norm_type, scale):
    grads = gradients(scale)
    tparams, fparams = make_params(torch, grads), make_params(fastnn, grads)
    expected = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type)
    actual = utils.clip_grad_norm_(fparams, max_norm, norm_type)
    assert isinstance(actual, fastnn.Tensor) and actual.shape == () and actual.dtype == np.float32
    np.testing.assert_allclose(actual.item(), expected.item(), rtol=1e-6)
    assert_same(fparams, tparams)


def test_clip_grad_norm_changes_only_too_large_gradients(torch):
    """The test above can tell clipping from no clipping: the clipped grads have norm max_norm."""
    fparams = make_params(fastnn, gradients())
    before = utils.get_total_norm([p.grad for p in fparams if p.grad is not None]).item()
    utils.clip_grad_norm_(fparams, before / 2)
    after = utils.get_total_norm([p.grad for p in fparams if p.grad is not None]).item()
    assert after == pytest.approx(before / 2, rel=1e-5)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_non_finite_norms(torch, bad, norm_type):
    grads = gradients()
    grads[1][2] = bad
    tparams, fparams = make_params(torch, grads), make_params(fastnn, grads)
    with pytest.raises(RuntimeError) as expected:
        torch.nn.utils.clip_grad_norm_(tparams, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as actual:
        utils.clip_grad_norm_(fparams, 1.0, norm_type, error_if_nonfinite=True)
    assert str(actual.value) == str(expected.value)
    assert_same(fparams, tparams)                          # nothing was scaled before the error
    # without the check, the non-finite norm is used anyway, as in PyTorch (inf -> zeros and NaNs)
    expected = torch.nn.utils.clip_grad_norm_(tparams, 1.0, norm_type)
    actual = utils.clip_grad_norm_(fparams, 1.0, norm_type)
    np.testing.assert_equal(actual.item(), expected.item())
    for a, e in zip(grads_of(fparams), grads_of(tparams)):
        if a is not None:
            np.testing.assert_array_equal(a, e)


def test_single_tensor_no_gradients_and_empty_generator(torch):
    grads = gradients()
    tparam, fparam = make_params(torch, grads[:1], ())[0], make_params(fastnn, grads[:1], ())[0]
    expected = torch.nn.utils.clip_grad_norm_(tparam, 0.5)          # a single Tensor, not a list
    actual = utils.clip_grad_norm_(fparam, 0.5)
    np.testing.assert_allclose(actual.item(), expected.item(), rtol=1e-6)
    assert_same([fparam], [tparam])

    no_grads = make_params(fastnn, grads, without_grad=range(len(grads)))
    total = utils.clip_grad_norm_(no_grads, 1.0)
    assert total.item() == torch.nn.utils.clip_grad_norm_(make_params(torch, grads, range(len(grads))), 1.0).item()
    assert total.item() == 0.0
    with pytest.warns(UserWarning, match="empty generator"):
        utils.clip_grad_norm_((p for p in []), 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        utils.clip_grad_norm_((p for p in make_params(fastnn, grads)), 1.0)   # a generator is used once


def test_clip_grad_norm_accepts_module_parameters_and_foreach(torch):
    model = fastnn.nn.Linear(3, 2)
    model(fastnn.tensor(np.ones((4, 3), np.float32))).sum().backward()
    total = utils.clip_grad_norm_(model.parameters(), 0.1, foreach=True)
    assert total.item() > 0.1
    assert utils.get_total_norm([p.grad for p in model.parameters()]).item() == pytest.approx(0.1, rel=1e-4)
    with pytest.warns(FutureWarning):
        utils.clip_grad_norm(model.parameters(), 1.0)


@pytest.mark.parametrize("clip_value", [0.5, 2, 0.0])
def test_clip_grad_value_matches_pytorch(torch, clip_value):
    grads = gradients(2.0)
    grads[0][0, 0] = math.nan
    tparams, fparams = make_params(torch, grads), make_params(fastnn, grads)
    assert torch.nn.utils.clip_grad_value_(tparams, clip_value) is None
    assert utils.clip_grad_value_(fparams, clip_value) is None
    for a, e in zip(grads_of(fparams), grads_of(tparams)):
        if a is not None:
            np.testing.assert_array_equal(a, e)
    assert np.nanmax(np.abs(grads_of(fparams)[1])) <= clip_value
    single = make_params(fastnn, grads[1:2], ())[0]
    utils.clip_grad_value_(single, 0.1)
    assert np.abs(single.grad.data).max() == np.float32(0.1)


def test_parameters_to_vector_and_back(torch):
    grads = gradients()       # used as parameter values here
    fparams = [fastnn.nn.Parameter(fastnn.tensor(g)) for g in grads]
    tparams = [torch.nn.Parameter(torch.tensor(g)) for g in grads]
    fvec, tvec = utils.parameters_to_vector(fparams), torch.nn.utils.parameters_to_vector(tparams)
    np.testing.assert_array_equal(fvec.data, tvec.detach().numpy())
    (fvec * fvec).sum().backward()                             # differentiable, as PyTorch's
    np.testing.assert_allclose(fparams[0].grad.data, 2 * grads[0], rtol=1e-6)

    new = np.arange(fvec.numel(), dtype=np.float32)
    utils.vector_to_parameters(fastnn.tensor(new), fparams)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tparams)
    for f, t in zip(fparams, tparams):
        assert f.shape == tuple(t.shape)
        np.testing.assert_array_equal(f.data, t.detach().numpy())
    with pytest.raises(TypeError, match="expected Tensor, but got: numpy.ndarray"):
        utils.vector_to_parameters(new, fparams)
