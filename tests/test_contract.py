"""The kernel contract: bad arguments get clear Python exceptions naming the problem, and
legal-but-awkward ones (non-contiguous views, F-ordered matrices) are accepted and correct.

Run against the NumPy reference; the checks live in contract.py, so every backend shares them.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from fastnn.backends.contract import KERNELS, Backend, ContractError
from fastnn.backends.numpy_ref import NumpyBackend

B = NumpyBackend()
rng = np.random.default_rng(7)


def randn(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def test_contract_error_is_a_value_error():
    assert issubclass(ContractError, ValueError)


def test_every_kernel_has_a_public_validating_method():
    for kernel in KERNELS:
        assert callable(getattr(Backend, kernel, None)), kernel


# --------------------------------------------------------------------------- gemm

def test_gemm_shape_mismatch_names_both_shapes():
    with pytest.raises(ContractError, match=r"a is \(3x4\).*b is \(5x6\)"):
        B.gemm(randn(3, 4), randn(5, 6))


def test_gemm_shape_mismatch_says_which_is_transposed():
    with pytest.raises(ContractError, match=r"a is \(4x3\) transposed and b is \(5x6\)"):
        B.gemm(randn(4, 3), randn(5, 6), trans_a=True)


def test_gemm_out_of_wrong_shape_or_dtype():
    with pytest.raises(ContractError, match=r"out must be a C-contiguous float64 array of shape \(3x6\)"):
        B.gemm(randn(3, 4), randn(4, 6), out=np.empty((3, 5)))
    with pytest.raises(ContractError, match=r"out must be"):
        B.gemm(randn(3, 4), randn(4, 6), out=np.empty((3, 6), np.float32))


def test_gemm_rejects_non_arrays_and_wrong_ndim():
    with pytest.raises(TypeError, match=r"a must be a numpy.ndarray, got list"):
        B.gemm([[1.0, 2.0]], randn(2, 2))
    with pytest.raises(ContractError, match=r"b must be 2-D, got shape \(2x2x2\)"):
        B.gemm(randn(2, 2), randn(2, 2, 2))


def test_gemm_mixed_dtypes():
    with pytest.raises(TypeError, match=r"b has dtype float32 but the other inputs are float64"):
        B.gemm(randn(2, 3), randn(3, 2, dtype=np.float32))


class SpyBackend(NumpyBackend):
    """Records what reaches the kernel after validation."""

    def __init__(self):
        self.seen = []

    def _gemm(self, a, b, trans_a, trans_b, out, variant):
        self.seen.append((a, b, trans_a, trans_b))
        return NumpyBackend._gemm(a, b, trans_a, trans_b, out, variant)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_f_contiguous_inputs_flip_the_flag_without_copying(trans_a, trans_b):
    m, k, n = 5, 7, 3
    a_op, b_op = randn(m, k), randn(k, n)                         # the matrices to multiply
    a = np.asfortranarray(a_op.T if trans_a else a_op)             # stored F-ordered
    b = np.asfortranarray(b_op.T if trans_b else b_op)
    assert not a.flags.c_contiguous and not b.flags.c_contiguous
    spy = SpyBackend()
    c = spy.gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    np.testing.assert_allclose(c, a_op @ b_op, rtol=1e-12, atol=1e-12)
    (sa, sb, sta, stb), = spy.seen
    assert sa.flags.c_contiguous and sb.flags.c_contiguous
    assert np.shares_memory(sa, a) and np.shares_memory(sb, b), "a copy was made instead of a view"
    assert (sta, stb) == (not trans_a, not trans_b)


def test_gemm_transposed_view_of_a_c_array():
    """The common case: passing ``w.T`` of a C-ordered weight."""
    w, x, y = randn(6, 4), randn(5, 4), randn(5, 6)
    np.testing.assert_allclose(B.gemm(x, w.T), x @ w.T, rtol=1e-12)
    np.testing.assert_allclose(B.gemm(w.T, y, trans_b=True), w.T @ y.T, rtol=1e-12)


def test_gemm_mismatch_message_shows_the_shapes_as_passed():
    """The F-order flip is internal: the message names what the caller passed."""
    a = np.asfortranarray(randn(4, 6))
    with pytest.raises(ContractError, match=r"a is \(4x6\) and b is \(5x4\) transposed"):
        B.gemm(a, randn(5, 4), trans_b=True)


def test_gemm_strided_input_is_copied_and_correct():
    a = randn(5, 14)[:, ::2]                                       # neither C- nor F-contiguous
    b = randn(7, 3)
    assert not a.flags.c_contiguous and not a.flags.f_contiguous
    np.testing.assert_allclose(B.gemm(a, b), a @ b, rtol=1e-12)


def test_unknown_variant():
    with pytest.raises(ValueError, match=r"unknown gemm variant 'tiled' for backend 'numpy'; choose one of blas"):
        B.gemm(randn(2, 2), randn(2, 2), variant="tiled")
    with pytest.raises(ValueError, match=r"unknown conv variant 'naive'.*im2col"):
        B.conv2d_forward(randn(1, 1, 4, 4), randn(1, 1, 2, 2), variant="naive")


def test_known_variants_run():
    np.testing.assert_allclose(B.gemm(randn(2, 3), np.eye(3), variant="blas").shape, (2, 3))
    x, w = randn(1, 2, 5, 5), randn(3, 2, 2, 2)
    np.testing.assert_array_equal(B.conv2d_forward(x, w, variant="im2col"), B.conv2d_forward(x, w))


# --------------------------------------------------------------------------- dtypes and emptiness

BAD_DTYPES = [np.int64, np.int32, np.float16, np.complex128, np.bool_]


@pytest.mark.parametrize("dtype", BAD_DTYPES)
def test_wrong_dtype_is_named(dtype):
    name = np.dtype(dtype).name
    x = np.ones((1, 2, 4, 4), dtype=dtype)
    with pytest.raises(TypeError, match=rf"x must be float32 or float64, got {name} \(shape 1x2x4x4\)"):
        B.conv2d_forward(x, np.ones((1, 2, 2, 2)))
    with pytest.raises(TypeError, match=rf"x must be float32 or float64, got {name}"):
        B.relu_forward(x)
    with pytest.raises(TypeError, match=rf"x must be float32 or float64, got {name}"):
        B.maxpool2d_forward(x, 2)
    with pytest.raises(TypeError, match=rf"a must be float32 or float64, got {name}"):
        B.gemm(np.ones((2, 2), dtype=dtype), np.ones((2, 2)))
    with pytest.raises(TypeError, match=rf"logits must be float32 or float64, got {name}"):
        B.softmax_cross_entropy_forward(np.ones((2, 3), dtype=dtype), np.array([0, 1]))


def test_mixed_float_dtypes_in_conv():
    with pytest.raises(TypeError, match=r"weight has dtype float64 but the other inputs are float32"):
        B.conv2d_forward(randn(1, 1, 3, 3, dtype=np.float32), randn(1, 1, 2, 2))


@pytest.mark.parametrize("shape", [(0, 3, 5, 5), (2, 0, 5, 5)])
def test_empty_batch(shape):
    with pytest.raises(ContractError, match=re.escape(f"x is empty (shape {'x'.join(map(str, shape))})")):
        B.conv2d_forward(np.ones(shape), np.ones((1, 3, 2, 2)))
    with pytest.raises(ContractError, match=r"x is empty"):
        B.maxpool2d_forward(np.ones(shape), 2)


def test_empty_logits_and_gemm():
    with pytest.raises(ContractError, match=r"logits is empty \(shape 0x4\)"):
        B.softmax_cross_entropy_forward(np.ones((0, 4)), np.zeros(0, np.int64))
    with pytest.raises(ContractError, match=r"a is empty \(shape 3x0\)"):
        B.gemm(np.ones((3, 0)), np.ones((0, 2)))


def test_wrong_ndim():
    with pytest.raises(ContractError, match=r"x must be 4-D, got shape \(3x4x4\)"):
        B.conv2d_forward(randn(3, 4, 4), randn(1, 3, 2, 2))
    with pytest.raises(ContractError, match=r"x must be 3-D, got shape \(2x3\)"):
        B.batchnorm_forward(randn(2, 3), None, None, None, None, True)


# --------------------------------------------------------------------------- geometry

def test_negative_padding():
    x, w = randn(1, 1, 5, 5), randn(1, 1, 3, 3)
    with pytest.raises(ValueError, match=r"padding must be >= 0, got \(-1, -1\)"):
        B.conv2d_forward(x, w, padding=-1)
    with pytest.raises(ValueError, match=r"padding must be >= 0, got \(0, -2\)"):
        B.im2col(x, 3, padding=(0, -2))
    with pytest.raises(ValueError, match=r"padding must be >= 0"):
        B.avgpool2d_forward(x, 2, padding=-1)


def test_zero_stride_and_dilation():
    x, w = randn(1, 1, 5, 5), randn(1, 1, 3, 3)
    with pytest.raises(ValueError, match=r"stride must be >= 1, got \(0, 0\)"):
        B.conv2d_forward(x, w, stride=0)
    with pytest.raises(ValueError, match=r"dilation must be >= 1, got \(1, 0\)"):
        B.conv2d_forward(x, w, dilation=(1, 0))


def test_bad_pair_types():
    with pytest.raises(TypeError, match=r"kernel_size must be an int or a pair of ints, got '3'"):
        B.im2col(randn(1, 1, 4, 4), "3")
    with pytest.raises(TypeError, match=r"stride must be an int or a pair of ints, got \(1, 2, 3\)"):
        B.im2col(randn(1, 1, 4, 4), 2, stride=(1, 2, 3))


def test_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=re.escape("kernel of extent 5 along H (kernel_size 5, dilation 1) "
                                                   "is larger than the padded input (3 + 2*0 = 3)")):
        B.conv2d_forward(randn(1, 1, 3, 8), randn(1, 1, 5, 2))
    # dilation widens the kernel: 2 taps 3 apart span 4 > 3
    with pytest.raises(ValueError, match=r"extent 4 along W \(kernel_size 2, dilation 3\)"):
        B.conv2d_forward(randn(1, 1, 3, 3), randn(1, 1, 2, 2), dilation=(1, 3))
    # padding makes it fit
    assert B.conv2d_forward(randn(1, 1, 3, 3), randn(1, 1, 5, 5), padding=1).shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"larger than the padded input"):
        B.maxpool2d_forward(randn(1, 1, 2, 6), 3)


def test_conv_channel_and_bias_mismatch():
    with pytest.raises(ContractError, match=r"weight of shape \(4x3x2x2\) expects 3 input channels but x of "
                                            r"shape \(1x2x5x5\) has 2"):
        B.conv2d_forward(randn(1, 2, 5, 5), randn(4, 3, 2, 2))
    with pytest.raises(ContractError, match=r"bias has shape \(3\)"):
        B.conv2d_forward(randn(1, 3, 5, 5), randn(4, 3, 2, 2), randn(3))


def test_conv_backward_grad_out_shape():
    with pytest.raises(ContractError, match=r"grad_out has shape \(1x4x3x3\) but conv2d of x \(1x3x5x5\) with "
                                            r"weight \(4x3x2x2\) gives \(1x4x4x4\)"):
        B.conv2d_backward(randn(1, 4, 3, 3), randn(1, 3, 5, 5), randn(4, 3, 2, 2))


def test_col2im_checks_cols_and_x_shape():
    with pytest.raises(ContractError, match=r"cols has shape \(1x4x5\) but x_shape \(1, 1, 3, 3\) with kernel "
                                            r"\(2, 2\) needs \(1x4x4\)"):
        B.col2im(randn(1, 4, 5), (1, 1, 3, 3), 2)
    with pytest.raises(ContractError, match=r"x_shape must be 4 positive ints"):
        B.col2im(randn(1, 4, 4), (1, 3, 3), 2)


def test_pool_padding_at_most_half_the_kernel():
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half of kernel_size \(3, 3\)"):
        B.maxpool2d_forward(randn(1, 1, 6, 6), 3, padding=2)


def test_pool_grad_out_shape():
    with pytest.raises(ContractError, match=r"grad_out has shape \(1x1x3x3\) but pooling x_shape \(1, 1, 4, 4\) "
                                            r"gives \(1x1x2x2\)"):
        B.avgpool2d_backward(randn(1, 1, 3, 3), (1, 1, 4, 4), 2)


# --------------------------------------------------------------------------- maxpool argmax

def test_wrong_argmax():
    x = randn(1, 2, 4, 4)
    out, arg = B.maxpool2d_forward(x, 2)
    g = np.ones_like(out)
    with pytest.raises(ContractError, match=r"argmax must be the int64 array.*got int32 array of shape \(1x2x2x2\)"):
        B.maxpool2d_backward(g, arg.astype(np.int32), x.shape)
    with pytest.raises(ContractError, match=r"shaped like grad_out \(1x2x2x2\); got int64 array of shape \(1x2x4\)"):
        B.maxpool2d_backward(g, arg.reshape(1, 2, 4), x.shape)
    with pytest.raises(ContractError, match=r"argmax holds indices outside \[0, 16\) of the 4x4 input planes"):
        B.maxpool2d_backward(g, arg + 16, x.shape)
    with pytest.raises(ContractError, match=r"outside \[0, 16\)"):
        B.maxpool2d_backward(g, arg - 100, x.shape)
    with pytest.raises(ContractError, match=r"differ in N or C"):
        B.maxpool2d_backward(g, arg, (1, 3, 4, 4))
    with pytest.raises(ContractError, match=r"got list"):
        B.maxpool2d_backward(g, arg.tolist(), x.shape)


# --------------------------------------------------------------------------- losses

def test_nan_and_inf_in_logits():
    logits = randn(3, 4)
    logits[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"logits contains NaN or infinity \(first at index \(1, 2\), shape 3x4\)"):
        B.softmax_cross_entropy_forward(logits, np.array([0, 1, 2]))
    logits[1, 2] = -np.inf
    with pytest.raises(ValueError, match=r"NaN or infinity"):
        B.softmax_cross_entropy_forward(logits, np.array([0, 1, 2]))


def test_target_out_of_range():
    logits = randn(3, 5)
    with pytest.raises(IndexError, match=r"target holds class index 5, outside \[0, 5\) for input with 5 classes"):
        B.softmax_cross_entropy_forward(logits, np.array([0, 5, 1]))
    with pytest.raises(IndexError, match=r"class index -1"):
        B.softmax_cross_entropy_forward(logits, np.array([0, -1, 1]))
    with pytest.raises(IndexError, match=r"class index 7"):
        B.softmax_cross_entropy_backward(np.ones(3), np.full((3, 5), 0.2), np.array([7, 0, 1]))


def test_bad_targets():
    logits = randn(3, 5)
    with pytest.raises(TypeError, match=r"target must hold integer class indices \(int64\), got dtype float64"):
        B.softmax_cross_entropy_forward(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ContractError, match=r"target has shape \(2\) but input has batch size 3"):
        B.softmax_cross_entropy_forward(logits, np.array([0, 1]))
    with pytest.raises(TypeError, match=r"target must be a numpy.ndarray"):
        B.softmax_cross_entropy_forward(logits, [0, 1, 2])


def test_int32_targets_are_accepted():
    logits = randn(3, 5)
    t64 = np.array([0, 4, 2])
    l32, _ = B.softmax_cross_entropy_forward(logits, t64.astype(np.int32))
    l64, _ = B.softmax_cross_entropy_forward(logits, t64)
    np.testing.assert_array_equal(l32, l64)


def test_label_smoothing_range_and_batch_mismatch():
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        B.softmax_cross_entropy_forward(randn(2, 3), np.array([0, 1]), 1.5)
    with pytest.raises(ContractError, match=r"grad_losses \(3\) and probs \(2x4\) differ in batch size"):
        B.softmax_cross_entropy_backward(np.ones(3), np.full((2, 4), 0.25), np.array([0, 1]))


# --------------------------------------------------------------------------- activations

def test_activation_backward_shape_mismatch_names_both():
    with pytest.raises(ContractError, match=r"grad_y has shape \(2x3\) but y has shape \(3x2\)"):
        B.sigmoid_backward(randn(2, 3), randn(3, 2))
    with pytest.raises(ContractError, match=r"grad_y has shape \(4\) but x has shape \(5\)"):
        B.leaky_relu_backward(randn(4), randn(5))


def test_elu_backward_needs_nonnegative_alpha():
    with pytest.raises(ValueError, match=r"needs alpha >= 0, got -1.0"):
        B.elu_backward(randn(3), randn(3), -1.0)


# --------------------------------------------------------------------------- non-contiguous input

def test_non_contiguous_inputs_are_accepted_and_correct():
    base = randn(2, 3, 9, 8)
    x = base[:, :, ::2, 1:]                          # strided view
    xt = base.transpose(0, 1, 3, 2)                  # transposed view
    for v in (x, xt):
        assert not v.flags.c_contiguous
        c = np.ascontiguousarray(v)
        np.testing.assert_array_equal(B.relu_forward(v), B.relu_forward(c))
        w = randn(4, 3, 3, 2)
        np.testing.assert_array_equal(B.conv2d_forward(v, w, padding=1, stride=(2, 1)),
                                      B.conv2d_forward(c, w, padding=1, stride=(2, 1)))
        for got, want in zip(B.maxpool2d_forward(v, (2, 3), padding=1), B.maxpool2d_forward(c, (2, 3), padding=1)):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(B.im2col(v, 2), B.im2col(c, 2))
        flat = v.reshape(2, 3, -1)[:, :, ::1]
        got = B.batchnorm_forward(flat, None, None, None, None, True)
        want = B.batchnorm_forward(np.ascontiguousarray(flat), None, None, None, None, True)
        for g_, w_ in zip(got, want):
            np.testing.assert_array_equal(g_, w_)
    logits = randn(6, 8)[::2, ::2]
    t = np.array([0, 3, 1])
    np.testing.assert_array_equal(B.softmax_cross_entropy_forward(logits, t)[0],
                                  B.softmax_cross_entropy_forward(np.ascontiguousarray(logits), t)[0])


def test_strided_argmax_is_accepted():
    x = randn(1, 2, 4, 4)
    out, arg = B.maxpool2d_forward(x, 2)
    g = randn(1, 2, 2, 2)
    wide_arg = np.repeat(arg, 2, axis=3)[:, :, :, ::2]    # same values, non-contiguous
    assert not wide_arg.flags.c_contiguous
    np.testing.assert_array_equal(B.maxpool2d_backward(g, wide_arg, x.shape), B.maxpool2d_backward(g, arg, x.shape))


# --------------------------------------------------------------------------- batchnorm

def test_batchnorm_one_value_per_channel_in_training():
    x = randn(1, 3, 1)
    with pytest.raises(ValueError, match=r"more than 1 value per channel, got input \(1x3x1\)"):
        B.batchnorm_forward(x, None, None, None, None, True)
    # eval mode normalises with running statistics: one value is fine
    y, _, _ = B.batchnorm_forward(x, None, None, np.zeros(3), np.ones(3), False, 0.1, 1e-5)
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-5), rtol=1e-12)


def test_batchnorm_running_stats_checks():
    x = randn(4, 3, 2)
    with pytest.raises(ContractError, match=r"running_mean must be a C-contiguous float64 array of shape \(3\), "
                                            r"got float32 array of shape \(3\)"):
        B.batchnorm_forward(x, None, None, np.zeros(3, np.float32), np.ones(3), True)
    with pytest.raises(ContractError, match=r"running_var .*got non-contiguous float64 array"):
        B.batchnorm_forward(x, None, None, np.zeros(3), np.ones(6)[::2], True)
    with pytest.raises(ValueError, match=r"both be given or both be None"):
        B.batchnorm_forward(x, None, None, np.zeros(3), None, True)
    with pytest.raises(ValueError, match=r"eval mode needs running_mean and running_var"):
        B.batchnorm_forward(x, None, None, None, None, False)
    with pytest.raises(ValueError, match=r"eps must be > 0"):
        B.batchnorm_forward(x, None, None, None, None, True, 0.1, 0.0)
    with pytest.raises(ContractError, match=r"weight has shape \(4\) but the input has 3 channels"):
        B.batchnorm_forward(x, np.ones(4), None, None, None, True)


def test_batchnorm_momentum_none_must_be_resolved_before_the_kernel():
    x = randn(4, 3, 2)
    with pytest.raises(ValueError, match=r"momentum=None"):
        B.batchnorm_forward(x, None, None, np.zeros(3), np.ones(3), True, None)
    # without running stats, or in eval, momentum is unused and None is fine
    B.batchnorm_forward(x, None, None, None, None, True, None)
    B.batchnorm_forward(x, None, None, np.zeros(3), np.ones(3), False, None)


def test_batchnorm_backward_needs_the_saved_statistics():
    x = randn(4, 3, 2)
    _, mean, invstd = B.batchnorm_forward(x, None, None, None, None, True)
    with pytest.raises(ContractError, match=r"needs the mean and invstd"):
        B.batchnorm_backward(x, x, None, None, invstd, True)
    with pytest.raises(ContractError, match=r"invstd has shape \(2\) but the input has 3 channels"):
        B.batchnorm_backward(x, x, None, mean, invstd[:2], True)
    with pytest.raises(ContractError, match=r"grad_y has shape \(4x3x1\) but x has shape \(4x3x2\)"):
        B.batchnorm_backward(x[:, :, :1], x, None, mean, invstd, True)
