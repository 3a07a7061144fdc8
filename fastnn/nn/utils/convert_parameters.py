"""``parameters_to_vector`` / ``vector_to_parameters``: a model's parameters as one flat
vector and back (for methods that treat the weights as a single point: line searches,
evolution strategies, weight averaging)."""
from __future__ import annotations

from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters) -> Tensor:
    """The parameters flattened and concatenated, in order, as one 1-D Tensor (differentiable,
    as PyTorch's: gradients flow back to each parameter)."""
    from ... import cat      # fastnn's public name, resolved when called (the package is loaded by then)
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Give each parameter the next slice of the 1-D ``vec``, reshaped to its shape. As in
    PyTorch the slices are not copied: the parameters' arrays become views into ``vec``'s."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__module__}.{type(vec).__name__}")
    pointer = 0
    for param in parameters:
        n = param.numel()
        param.data = vec.data[pointer:pointer + n].reshape(param.shape)
        pointer += n
