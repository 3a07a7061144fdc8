"""``Optimizer``: the base class (parameter groups, per-parameter state, state dicts).

An optimizer holds ``param_groups``, a list of dicts each with a ``'params'`` list and its
own hyper-parameters (missing ones are filled from the defaults), and ``state``, a dict
{parameter: {name: numpy array or number}} (momentum buffers, moment estimates, step
counts). ``step()`` runs without recording a graph and updates ``param.data`` in place,
so the model and the optimizer keep sharing the same arrays.
"""
from __future__ import annotations

import copy

import numpy as np

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _check(valid: bool, what: str, value) -> None:
    """PyTorch's argument check: ``ValueError("Invalid <what>: <value>")`` unless ``valid``
    (e.g. ``_check(lr >= 0, "learning rate", lr)`` -> "Invalid learning rate: -1.0")."""
    if not valid:
        raise ValueError(f"Invalid {what}: {value}")


def _check_betas(betas) -> tuple:
    for i, beta in enumerate(betas):
        _check(0.0 <= beta < 1.0, f"beta parameter at index {i}", beta)
    return tuple(betas)


def _implementation_options(**options) -> dict:
    """PyTorch's ``foreach``, ``fused``, ``capturable`` and ``differentiable`` choose between
    implementations of the *same* update (a loop per tensor, multi-tensor kernels, one
    fused kernel, CUDA-graph-safe, or one autograd can differentiate through). fastnn has
    one implementation, so they are accepted and kept in the groups (code written for
    PyTorch runs unchanged, and state dicts have PyTorch's keys) but change nothing, except
    ``differentiable=True``: fastnn updates the arrays outside the graph, so it refuses
    rather than silently not differentiating. PyTorch's own consistency check is kept."""
    if options.get("differentiable"):
        raise NotImplementedError("differentiable=True is not supported: fastnn's optimizers update the "
                                  "parameters' arrays in place, outside the autograd graph")
    if options.get("fused") and options.get("foreach"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    return options


def _next_step(state: dict, param, *buffers: str, **initial) -> int:
    """Count one more step of a parameter and return it (1 on the first step). On the first
    step the state is created, as PyTorch does lazily: ``step = 0``, a zero array (of the
    parameter's shape and dtype) per name in ``buffers``, and the ``initial`` values. A
    false name is skipped, so an optional buffer reads ``amsgrad and "max_exp_avg_sq"``."""
    if not state:
        state["step"] = 0
        state.update(initial)
        for name in filter(None, buffers):
            state[name] = np.zeros_like(param)
    state["step"] += 1
    return state["step"]


class Optimizer:
    """Subclasses define ``__init__`` (calling ``super().__init__(params, defaults)``) and
    ``_update(group)``, which updates the parameters of one group in place."""

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: dict = {}
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (e.g. a newly unfrozen layer), with its own options."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        params = [p[1] if isinstance(p, tuple) and len(p) == 2 else p for p in params]   # named_parameters()
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if existing & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradient of every parameter: to None (default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure`` (optional)
        re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update(group)
                for param in group["params"]:
                    if param.grad is not None:  # written in place: a graph that saved it must see that
                        param._version_counter.value += 1
        return loss

    def _update(self, group: dict) -> None:
        raise NotImplementedError

    def _params_with_grad(self, group):
        """(param array, gradient array, state dict) of every parameter of ``group`` that has
        a gradient (``maximize`` flips the gradient's sign, as PyTorch does first)."""
        for p in group["params"]:
            if p.grad is None:
                continue
            grad = p.grad.data
            if group.get("maximize", False):
                grad = -grad
            yield p.data, grad, self.state.setdefault(p, {})

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict:
        """``{'state': {index: {name: array or number}}, 'param_groups': [{..., 'params': [index, ...]}]}``
        with parameters numbered by their position across the groups, as PyTorch. The arrays
        are copies."""
        index, groups, start = {}, [], 0
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v))
                                       for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state dict from :meth:`state_dict` (possibly after ``fastnn.save``/``load``):
        hyper-parameters and per-parameter state; arrays are copied and cast to each
        parameter's dtype (the step counts stay numbers)."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, the optimizer has "
                             f"{len(self.param_groups)}")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"loaded state dict contains a parameter group {i} of {len(s['params'])} "
                                 f"parameters that doesn't match the size of the optimizer's group "
                                 f"({len(g['params'])})")
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            id_map.update(zip((int(i) for i in s["params"]), g["params"]))
        new_state = {}
        for key, values in state_dict["state"].items():
            param = id_map.get(int(key))
            if param is None:
                continue
            entry = {}
            for name, value in values.items():
                if isinstance(value, Tensor):
                    value = value.data
                if isinstance(value, np.ndarray):
                    if name != "step" and value.dtype.kind == "f":
                        value = value.astype(param.dtype)
                    else:
                        value = value.copy()
                    if value.shape != param.shape and name != "step":
                        raise ValueError(f"optimizer state {name!r} of shape {value.shape} does not match its "
                                         f"parameter of shape {param.shape}")
                entry[name] = copy.deepcopy(value) if not isinstance(value, np.ndarray) else value
            new_state[param] = entry
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            group = {k: copy.deepcopy(_plain(v, g.get(k))) for k, v in s.items() if k != "params"}
            for name, default in self.defaults.items():   # options newer than the checkpoint (as
                group.setdefault(name, default)            # PyTorch's __setstate__ fills them in)
            group["params"] = g["params"]
            new_groups.append(group)
        self.state = new_state
        self.param_groups = new_groups


def _plain(value, current):
    """Hyper-parameters come back from a checkpoint as they went in; a tuple (betas) may
    come back as a list from other serialisers: restore the tuple."""
    if isinstance(current, tuple) and isinstance(value, list):
        return tuple(value)
    return value
