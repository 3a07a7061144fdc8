"""Recurrent layers: ``RNN`` (Elman, tanh or relu) and ``LSTM``.

Both are written with ordinary Tensor operations and ``F.linear``, one time step at a
time, so the autograd engine differentiates through time by itself (backpropagation
through time is just backward through the unrolled graph).

Per layer and direction, with x_t the input and h the previous hidden state::

    RNN:   h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
    LSTM:  i, f, g, o = split(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, 4)   # PyTorch's gate order
           c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
           h_t = sigmoid(o) * tanh(c_t)

Parameter names, shapes, order and initialisation (U(-1/sqrt(hidden), 1/sqrt(hidden)) for
every weight and bias) are PyTorch's: ``weight_ih_l0`` (gates*hidden, input_size),
``weight_hh_l0`` (gates*hidden, hidden), ``bias_ih_l0``, ``bias_hh_l0``, then ``..._l1`` ...;
the reverse direction of a bidirectional layer adds the suffix ``_reverse``.
"""
from __future__ import annotations

import math

import numpy as np

from ..creation import zeros
from ..ops.shape import cat, stack
from ..tensor import Tensor
from . import functional as F
from . import init
from ._utils import factory_dtype
from .module import Module
from .parameter import Parameter


class RNNBase(Module):
    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        dtype = factory_dtype(device, dtype)
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if proj_size != 0:
            raise NotImplementedError("proj_size is not supported")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        directions = 2 if bidirectional else 1
        gate_size = self._gates * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(np.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op (kept so that CUDA-minded PyTorch code runs unchanged)."""

    @property
    def all_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    # ------------------------------------------------------------ the recurrence
    def _cell(self, x_t, state, w_ih, w_hh, b_ih, b_hh):
        raise NotImplementedError

    def _weights(self, layer: int, direction: int):
        """(w_ih, w_hh, b_ih, b_hh) of one layer and direction (biases None when bias=False)."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        weights = [getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)]
        biases = [getattr(self, "bias_ih" + suffix), getattr(self, "bias_hh" + suffix)] if self.bias else [None, None]
        return (*weights, *biases)

    def _prepare(self, input, hx, n_states):
        """Input to (L, N, H_in), initial states to n_states tensors of (layers*dirs, N, H)."""
        if not isinstance(input, Tensor):
            input = Tensor(input)
        if input.ndim not in (2, 3):
            raise ValueError(f"{self._get_name()}: expected input of 2 (unbatched) or 3 dimensions, "
                             f"got shape {input.shape}")
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{self._get_name()}: input.size(-1) must be equal to input_size. "
                             f"Expected {self.input_size}, got {input.shape[-1]}")
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, input.shape[1], self.hidden_size)
        if hx is None:
            states = [zeros(*expected, dtype=input.dtype) for _ in range(n_states)]
        else:
            states = list(hx) if n_states > 1 else [hx]
            states = [s if isinstance(s, Tensor) else Tensor(s) for s in states]
            if not batched:
                states = [s.unsqueeze(1) for s in states]
            for s in states:
                if tuple(s.shape) != expected:
                    raise ValueError(f"{self._get_name()}: expected hidden size {expected}, got {tuple(s.shape)}")
        return input, states, batched

    def _run(self, input, states):
        """The whole stack: returns the last layer's output (L, N, dirs*H) and the final states."""
        directions = 2 if self.bidirectional else 1
        seq_len = input.shape[0]
        finals = [[] for _ in states]
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                state = tuple(s[index] for s in states)
                weights = self._weights(layer, direction)
                steps = range(seq_len - 1, -1, -1) if direction == 1 else range(seq_len)
                hs = [None] * seq_len
                for t in steps:
                    state = self._cell(layer_input[t], state, *weights)
                    hs[t] = state[0]
                outputs.append(stack(hs, 0))
                for final, s in zip(finals, state):
                    final.append(s)
            layer_input = outputs[0] if directions == 1 else cat(outputs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, [stack(f, 0) for f in finals]

    def _finish(self, output, finals, batched):
        if not batched:
            return output.squeeze(1), [f.squeeze(1) for f in finals]
        if self.batch_first:
            output = output.transpose(0, 1)
        return output, finals

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
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


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``. Input (L, N, H_in), or (N, L, H_in)
    with ``batch_first``, or unbatched (L, H_in); optional h_0 (layers*dirs, N, H).
    Returns ``(output, h_n)``: output (L, N, dirs*H) holds the last layer's h_t for every t.
    """

    def __init__(self, *args, **kwargs):
        names = ("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
                 "bidirectional")
        kwargs.update(zip(names, args))
        self.__dict__["nonlinearity"] = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(**kwargs)

    def _cell(self, x_t, state, w_ih, w_hh, b_ih, b_hh):
        (h,) = state
        pre = F.linear(x_t, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
        return (F.tanh(pre) if self.nonlinearity == "tanh" else F.relu(pre),)

    def forward(self, input, hx=None):
        input, states, batched = self._prepare(input, hx, 1)
        output, finals = self._run(input, states)
        output, (h_n,) = self._finish(output, finals, batched)
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory, gates in PyTorch's order (input, forget, cell, output).

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``. Optional ``(h_0, c_0)``, each (layers*dirs, N, H).
    Returns ``(output, (h_n, c_n))``.
    """

    _gates = 4

    def _cell(self, x_t, state, w_ih, w_hh, b_ih, b_hh):
        h, c = state
        gates = F.linear(x_t, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
        hs = self.hidden_size
        i = F.sigmoid(gates[..., 0:hs])
        f = F.sigmoid(gates[..., hs:2 * hs])
        g = F.tanh(gates[..., 2 * hs:3 * hs])
        o = F.sigmoid(gates[..., 3 * hs:4 * hs])
        c = f * c + i * g
        return o * F.tanh(c), c

    def forward(self, input, hx=None):
        input, states, batched = self._prepare(input, hx, 2)
        output, finals = self._run(input, states)
        output, (h_n, c_n) = self._finish(output, finals, batched)
        return output, (h_n, c_n)
