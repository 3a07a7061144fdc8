"""Recurrent layers: ``RNN`` (Elman, tanh or relu), ``LSTM`` and ``GRU``, and their one-step
cells ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Per layer and direction, with x_t the input and h the previous hidden state (PyTorch's
formulas and gate orders)::

    RNN:   h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)             (or relu)
    LSTM:  i, f, g, o = split(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, 4)
           c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
           h_t = sigmoid(o) * tanh(c_t)                   (then h_t W_hr^T with proj_size)
    GRU:   r, z, n_x = split(x_t W_ih^T + b_ih, 3);  r_h, z_h, n_h = split(h_{t-1} W_hh^T + b_hh, 3)
           r = sigmoid(r_x + r_h), z = sigmoid(z_x + z_h), n = tanh(n_x + r * n_h)
           h_t = (1 - z) * n + z * h_{t-1}

One layer in one direction over the whole sequence is one :class:`_Recurrence` (an
``ArrayFunction``): its forward projects every time step's input with one matrix product
(``x W_ih^T`` for all t at once) and then walks the time steps; its backward is
backpropagation through time written out: the same walk in reverse, each step's gate
gradients collected so that the weight gradients are again one matrix product each.
Layers are stacked, and the two directions joined, with ordinary Tensor operations.

Variable-length batches (a :class:`~fastnn.nn.utils.rnn.PackedSequence`) run as a padded
batch with a mask: a sequence's state stops changing after its last step (and, in the
reverse direction, only starts changing at its last step), exactly what PyTorch's packed
kernels compute.

Parameter names, shapes, order and initialisation (U(-1/sqrt(hidden), 1/sqrt(hidden)) for
every weight and bias) are PyTorch's: ``weight_ih_l0`` (gates*hidden, input_size),
``weight_hh_l0`` (gates*hidden, hidden), ``bias_ih_l0``, ``bias_hh_l0``
(``weight_hr_l0`` (proj_size, hidden) for an LSTM with ``proj_size``), then ``..._l1`` ...;
the reverse direction of a bidirectional layer adds the suffix ``_reverse``. So state dicts
move between fastnn and PyTorch unchanged.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ..autograd import ArrayFunction
from ..creation import zeros
from ..ops.shape import cat, stack
from ..tensor import Tensor
from . import functional as F
from . import init
from ._utils import factory_dtype
from .module import Module
from .parameter import Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNShapeError(RuntimeError, ValueError):
    """A bad input or state shape (PyTorch raises RuntimeError; earlier fastnn ValueError)."""


# ---------------------------------------------------------------------------- the kernel

def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


class _Recurrence(ArrayFunction):
    """One layer, one direction, the whole sequence.

    Inputs: x (L, N, I), h0 (N, P), c0 (N, H) or None (LSTM only), w_ih (G*H, I),
    w_hh (G*H, P), b_ih, b_hh (G*H,) or None, w_hr (P, H) or None (LSTM projection;
    P = H without one). ``lengths`` (N,) or None: the valid steps of each sequence.

    Output: one flat array holding the outputs (L, N, P) (zero after a sequence's end), then
    h_n (N, P), then c_n (N, H) for an LSTM; :func:`_recurrence` cuts it into Tensors. (An
    ArrayFunction returns one array; the slices' backward sums back into it.)
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, reverse, lengths):
        L, N, _ = x.shape
        G = _GATES[mode]
        H = w_hh.shape[0] // G
        dtype = x.dtype
        xw = (x.reshape(L * N, -1) @ w_ih.T).reshape(L, N, G * H)   # every step's input at once
        if b_ih is not None:
            xw += b_ih
        steps = range(L - 1, -1, -1) if reverse else range(L)
        masks = None if lengths is None else (np.arange(L)[:, None] < lengths[None, :])[..., None]
        out = np.zeros((L, N, h0.shape[1]), dtype=dtype)
        h, c = h0, c0
        saved = {"h_prev": np.empty((L, N, h0.shape[1]), dtype=dtype)}
        if mode == "LSTM":
            saved.update(gates=np.empty((L, N, 4 * H), dtype=dtype), c_prev=np.empty((L, N, H), dtype=dtype),
                         tanh_c=np.empty((L, N, H), dtype=dtype))
            if w_hr is not None:
                saved["h_raw"] = np.empty((L, N, H), dtype=dtype)
        elif mode == "GRU":
            saved.update(gates=np.empty((L, N, 3 * H), dtype=dtype), hn=np.empty((L, N, H), dtype=dtype))
        else:
            saved["h_new"] = np.empty((L, N, H), dtype=dtype)
        for t in steps:
            saved["h_prev"][t] = h
            hw = h @ w_hh.T
            if b_hh is not None:
                hw += b_hh
            if mode == "LSTM":
                pre = xw[t] + hw
                gates = np.empty_like(pre)
                gates[:, :2 * H] = _sigmoid(pre[:, :2 * H])
                gates[:, 2 * H:3 * H] = np.tanh(pre[:, 2 * H:3 * H])
                gates[:, 3 * H:] = _sigmoid(pre[:, 3 * H:])
                i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
                c_new = f * c + i * g
                tanh_c = np.tanh(c_new)
                h_new = o * tanh_c
                saved["gates"][t], saved["c_prev"][t], saved["tanh_c"][t] = gates, c, tanh_c
                if w_hr is not None:
                    saved["h_raw"][t] = h_new
                    h_new = h_new @ w_hr.T
            elif mode == "GRU":
                rz = _sigmoid(xw[t, :, :2 * H] + hw[:, :2 * H])
                r, z = rz[:, :H], rz[:, H:]
                hn = hw[:, 2 * H:]
                n = np.tanh(xw[t, :, 2 * H:] + r * hn)
                h_new = (1 - z) * n + z * h
                saved["gates"][t, :, :2 * H], saved["gates"][t, :, 2 * H:], saved["hn"][t] = rz, n, hn
            else:
                pre = xw[t] + hw
                h_new = np.tanh(pre) if mode == "RNN_TANH" else np.maximum(pre, 0)
                saved["h_new"][t] = h_new
            if masks is None:
                out[t] = h_new
                h = h_new
                if mode == "LSTM":
                    c = c_new
            else:
                m = masks[t]
                out[t] = h_new * m
                h = np.where(m, h_new, h)
                if mode == "LSTM":
                    c = np.where(m, c_new, c)
        ctx.save_for_backward(x, w_ih, w_hh, w_hr)
        ctx.saved, ctx.masks, ctx.mode, ctx.reverse = saved, masks, mode, reverse
        ctx.shapes = (out.shape, h.shape, None if c is None else c.shape)
        ctx.has_bias = b_ih is not None
        parts = [out.ravel(), h.ravel()] + ([] if c is None else [c.ravel()])
        return np.concatenate(parts)

    @staticmethod
    def backward(ctx, grad):
        x, w_ih, w_hh, w_hr = ctx.saved_tensors
        saved, masks, mode = ctx.saved, ctx.masks, ctx.mode
        out_shape, h_shape, c_shape = ctx.shapes
        L, N, _ = x.shape
        G = _GATES[mode]
        H = w_hh.shape[0] // G
        n_out, n_h = int(np.prod(out_shape)), int(np.prod(h_shape))
        d_out = grad[:n_out].reshape(out_shape)
        dh = grad[n_out:n_out + n_h].reshape(h_shape).copy()
        dc = grad[n_out + n_h:].reshape(c_shape).copy() if mode == "LSTM" else None
        d_pre_x = np.empty((L, N, G * H), dtype=grad.dtype)      # d loss / d (x_t W_ih^T + b_ih)
        d_pre_h = np.empty((L, N, G * H), dtype=grad.dtype)      # d loss / d (h_{t-1} W_hh^T + b_hh)
        d_w_hr = None if w_hr is None else np.zeros_like(w_hr)
        steps = range(L) if ctx.reverse else range(L - 1, -1, -1)
        for t in steps:
            if masks is None:
                dh_new = dh + d_out[t]
                dc_new = dc
            else:
                m = masks[t]
                dh_new = (dh + d_out[t]) * m
                keep_h = dh * ~m                      # a finished sequence's state passes through
                keep_c = None if dc is None else dc * ~m
                dc_new = None if dc is None else dc * m
            if mode == "LSTM":
                if w_hr is not None:
                    d_w_hr += dh_new.T @ saved["h_raw"][t]
                    dh_new = dh_new @ w_hr
                gates = saved["gates"][t]
                i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
                tanh_c = saved["tanh_c"][t]
                dc_total = dc_new + dh_new * o * (1 - tanh_c * tanh_c)
                dgates = np.empty((N, 4 * H), dtype=grad.dtype)
                dgates[:, :H] = dc_total * g * i * (1 - i)
                dgates[:, H:2 * H] = dc_total * saved["c_prev"][t] * f * (1 - f)
                dgates[:, 2 * H:3 * H] = dc_total * i * (1 - g * g)
                dgates[:, 3 * H:] = dh_new * tanh_c * o * (1 - o)
                d_pre_x[t] = d_pre_h[t] = dgates
                dc = dc_total * f
                dh_direct = 0
            elif mode == "GRU":
                gates = saved["gates"][t]
                r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
                h_prev = saved["h_prev"][t]
                dn = dh_new * (1 - z) * (1 - n * n)
                dr = dn * saved["hn"][t] * r * (1 - r)
                dz = dh_new * (h_prev - n) * z * (1 - z)
                d_pre_x[t, :, :H] = d_pre_h[t, :, :H] = dr
                d_pre_x[t, :, H:2 * H] = d_pre_h[t, :, H:2 * H] = dz
                d_pre_x[t, :, 2 * H:] = dn
                d_pre_h[t, :, 2 * H:] = dn * r
                dh_direct = dh_new * z
            else:
                h_new = saved["h_new"][t]
                dpre = dh_new * (1 - h_new * h_new) if mode == "RNN_TANH" else dh_new * (h_new > 0)
                d_pre_x[t] = d_pre_h[t] = dpre
                dh_direct = 0
            dh = d_pre_h[t] @ w_hh + dh_direct
            if masks is not None:
                dh = dh + keep_h
                if dc is not None:
                    dc = dc + keep_c
        needs = ctx.needs_input_grad
        d_x = (d_pre_x.reshape(L * N, -1) @ w_ih).reshape(x.shape) if needs[0] else None
        h_prev = saved["h_prev"].reshape(L * N, -1)
        d_w_ih = d_pre_x.reshape(L * N, -1).T @ x.reshape(L * N, -1) if needs[3] else None
        d_w_hh = d_pre_h.reshape(L * N, -1).T @ h_prev if needs[4] else None
        d_b_ih = d_pre_x.sum(axis=(0, 1)) if ctx.has_bias and needs[5] else None
        d_b_hh = d_pre_h.sum(axis=(0, 1)) if ctx.has_bias and needs[6] else None
        return d_x, dh, dc, d_w_ih, d_w_hh, d_b_ih, d_b_hh, d_w_hr



def _recurrence(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, reverse=False, lengths=None):
    """Run :class:`_Recurrence`; returns (output (L, N, P), h_n (N, P), c_n (N, H) or None)."""
    flat = _Recurrence.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode=mode, reverse=reverse, lengths=lengths)
    L, N = x.shape[0], x.shape[1]
    P = h0.shape[-1]
    n_out, n_h = L * N * P, N * P
    output = flat[:n_out].reshape(L, N, P)
    h_n = flat[n_out:n_out + n_h].reshape(N, P)
    c_n = flat[n_out + n_h:].reshape(N, c0.shape[-1]) if mode == "LSTM" else None
    return output, h_n, c_n


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


# ---------------------------------------------------------------------------- the layers

class RNNBase(Module):
    """What RNN, LSTM and GRU share: ``RNNBase(mode, input_size, hidden_size, num_layers=1,
    bias=True, batch_first=False, dropout=0.0, bidirectional=False, proj_size=0)`` with
    ``mode`` one of ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'``, ``'GRU'`` (as PyTorch's)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        dtype = factory_dtype(device, dtype)
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + str(mode))
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                names = []
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(np.empty(shape, dtype=dtype)))
                    names.append(name + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op (kept so that CUDA-minded PyTorch code runs unchanged)."""

    @property
    def _flat_weights(self):
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        """One list of parameters per layer and direction, as PyTorch's."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    # ------------------------------------------------------------ the recurrence
    def _weights(self, layer: int, direction: int):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction (None where absent)."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        get = lambda name: getattr(self, name + suffix) if hasattr(self, name + suffix) else None  # noqa: E731
        return tuple(get(n) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))

    def _state_sizes(self):
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        return [real_hidden, self.hidden_size] if self.mode == "LSTM" else [real_hidden]

    def _check_input(self, input, packed: bool):
        weight = self._flat_weights[0]
        if input.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                             f"Convert input: input.to({weight.dtype}), or convert model: model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RNNShapeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                                f"got {input.shape[-1]}")

    def _initial_states(self, hx, batch: int, batched: bool, dtype):
        """hx (a Tensor, or a pair for an LSTM) to a list of (layers*dirs, N, size) Tensors."""
        directions = 2 if self.bidirectional else 1
        sizes = self._state_sizes()
        if hx is None:
            return [zeros(self.num_layers * directions, batch, s, dtype=dtype) for s in sizes]
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RNNShapeError("LSTM: hx must be a tuple (h_0, c_0)")
            states = [_as_tensor(s) for s in hx]
        else:
            states = [_as_tensor(hx)]
        want = 3 if batched else 2
        if any(s.ndim != want for s in states):
            dims = ", ".join(f"{s.ndim}-D" for s in states)
            what = "hx and cx" if self.mode == "LSTM" else "hx"
            raise RNNShapeError(f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, {what} should also "
                                f"be {want}-D but got ({dims}) tensor{'s' if len(states) > 1 else ''}")
        if not batched:
            states = [s.unsqueeze(1) for s in states]
        for s, size in zip(states, sizes):
            expected = (self.num_layers * directions, batch, size)
            if tuple(s.shape) != expected:
                what = "cell" if size is not sizes[0] else "hidden"
                raise RNNShapeError(f"Expected {what} size {expected}, got {list(s.shape)}")
        return states

    def _run(self, input, states, lengths=None):
        """The whole stack on (L, N, H_in): the last layer's output (L, N, dirs*P) and the
        final states, each (layers*dirs, N, size)."""
        directions = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        finals = [[] for _ in states]
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                h0 = states[0][index]
                c0 = states[1][index] if lstm else None
                out, h_n, c_n = _recurrence(layer_input, h0, c0, *self._weights(layer, direction), mode=self.mode,
                                            reverse=direction == 1, lengths=lengths)
                outputs.append(out)
                finals[0].append(h_n)
                if lstm:
                    finals[1].append(c_n)
            layer_input = outputs[0] if directions == 1 else cat(outputs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, [stack(f, 0) for f in finals]

    def _forward(self, input, hx):
        """Shared forward: returns (output, list of final states) in the caller's layout."""
        from .utils.rnn import PackedSequence, _packed_to_padded, _padded_to_packed
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            data = _as_tensor(data)
            if data.ndim != 2:
                raise RNNShapeError(f"input must have 2 dimensions, got {data.ndim}")
            self._check_input(data, True)
            batch_sizes = np.asarray(batch_sizes.data if isinstance(batch_sizes, Tensor) else batch_sizes)
            padded, lengths = _packed_to_padded(data, batch_sizes)     # (L, N, H_in), sorted order
            if hx is not None and sorted_indices is not None:
                order = _index_of(sorted_indices)
                hx = tuple(_as_tensor(s).index_select(1, order) for s in hx) if self.mode == "LSTM" \
                    else _as_tensor(hx).index_select(1, order)
            states = self._initial_states(hx, padded.shape[1], True, data.dtype)
            output, finals = self._run(padded, states, lengths)
            if unsorted_indices is not None:
                order = _index_of(unsorted_indices)
                finals = [f.index_select(1, order) for f in finals]
            output = PackedSequence(_padded_to_packed(output, batch_sizes), input.batch_sizes, sorted_indices,
                                    unsorted_indices)
            return output, finals
        input = _as_tensor(input)
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.ndim}D instead")
        self._check_input(input, False)
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        states = self._initial_states(hx, input.shape[1], batched, input.dtype)
        output, finals = self._run(input, states)
        if not batched:
            return output.squeeze(1), [f.squeeze(1) for f in finals]
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, finals

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


def _index_of(indices) -> np.ndarray:
    return np.asarray(indices.data if isinstance(indices, Tensor) else indices, dtype=np.int64)


_RNN_ARGS = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
             "device", "dtype")


def _named(cls_name, args, kwargs, names):
    if len(args) > len(names):
        raise TypeError(f"{cls_name}() takes at most {len(names)} positional arguments ({len(args)} given)")
    for name, value in zip(names, args):
        if name in kwargs:
            raise TypeError(f"{cls_name}() got multiple values for argument '{name}'")
        kwargs[name] = value
    return kwargs


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``. Input (L, N, H_in), or (N, L, H_in)
    with ``batch_first``, or unbatched (L, H_in), or a PackedSequence; optional h_0
    (layers*dirs, N, H). Returns ``(output, h_n)``: output (L, N, dirs*H) holds the last
    layer's h_t for every t.
    """

    def __init__(self, *args, **kwargs):
        names = ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
                 "bidirectional", "device", "dtype")
        kwargs = _named("RNN", args, kwargs, names)
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, **kwargs)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, hx)
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory, gates in PyTorch's order (input, forget, cell, output).

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0)``. Optional ``(h_0, c_0)``, each (layers*dirs, N, H)
    (h_0 (layers*dirs, N, proj_size) with a projection). Returns ``(output, (h_n, c_n))``.
    """

    def __init__(self, *args, **kwargs):
        kwargs = _named("LSTM", args, kwargs, _RNN_ARGS[:7] + ("proj_size", "device", "dtype"))
        super().__init__("LSTM", **kwargs)

    def forward(self, input, hx=None):
        output, (h_n, c_n) = self._forward(input, hx)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit, gates in PyTorch's order (reset, update, new):
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``. Optional h_0 (layers*dirs, N, H). Returns ``(output, h_n)``.
    """

    def __init__(self, *args, **kwargs):
        kwargs = _named("GRU", args, kwargs, _RNN_ARGS)
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", **kwargs)

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, hx)
        return output, h_n


# ---------------------------------------------------------------------------- cells

class RNNCellBase(Module):
    """One time step: ``weight_ih`` (chunks*hidden, input), ``weight_hh`` (chunks*hidden,
    hidden), ``bias_ih``, ``bias_hh`` (chunks*hidden,), initialised U(-1/sqrt(hidden), +)."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        dtype = factory_dtype(device, dtype)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(np.empty((num_chunks * hidden_size, input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((num_chunks * hidden_size, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(np.empty((num_chunks * hidden_size,), dtype=dtype))
            self.bias_hh = Parameter(np.empty((num_chunks * hidden_size,), dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _step(self, input, states):
        """input (N, I) or (I,), states a list of (N, H) / (H,) Tensors or None."""
        name = type(self).__name__
        input = _as_tensor(input)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RNNShapeError(f"input has inconsistent input_size: got {input.shape[1]} expected "
                                f"{self.input_size}")
        n = input.shape[0]
        if states is None:
            states = [zeros(n, self.hidden_size, dtype=input.dtype) for _ in range(2 if self._mode == "LSTM" else 1)]
        else:
            states = [_as_tensor(s) for s in states]
            for s in states:
                if s.ndim not in (1, 2):
                    raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {s.ndim}D instead")
            if not batched:
                states = [s.unsqueeze(0) for s in states]
            for s in states:
                if tuple(s.shape) != (n, self.hidden_size):
                    raise RNNShapeError(f"{name}: expected hidden state of shape {(n, self.hidden_size)}, got "
                                        f"{tuple(s.shape)}")
        c0 = states[1] if self._mode == "LSTM" else None
        _, h, c = _recurrence(input.unsqueeze(0), states[0], c0, self.weight_ih, self.weight_hh, self.bias_ih,
                              self.bias_hh, None, mode=self._mode)
        result = [h, c] if self._mode == "LSTM" else [h]
        return result if batched else [r.squeeze(0) for r in result]


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu).
    ``RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh')``; ``forward(input, hx=None)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    @property
    def _mode(self):
        if self.nonlinearity == "tanh":
            return "RNN_TANH"
        if self.nonlinearity == "relu":
            return "RNN_RELU"
        raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")

    def forward(self, input, hx=None):
        return self._step(input, None if hx is None else [hx])[0]


class LSTMCell(RNNCellBase):
    """One LSTM step. ``LSTMCell(input_size, hidden_size, bias=True)``;
    ``forward(input, hx=None)`` with hx = (h, c); returns ``(h', c')``."""

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise RNNShapeError("LSTMCell: hx must be a tuple (h_0, c_0)")
        h, c = self._step(input, None if hx is None else list(hx))
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step. ``GRUCell(input_size, hidden_size, bias=True)``; ``forward(input, hx=None)``."""

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step(input, None if hx is None else [hx])[0]
