"""The core's differentiable operations, one family per module, each forward beside its
backward: ``arithmetic`` (broadcasting + - * / ** @), ``pointwise`` (element-wise math),
``reduction`` (sum, mean, max ... over ``dim``), ``shape`` (views, indexing, joining),
``activation`` (the kernel-backed non-linearities that ``Tensor`` methods share with
``nn.functional``).

They are :class:`~fastnn.autograd.ArrayFunction` subclasses: NumPy arrays in, NumPy arrays
out. The heavy operations of neural networks (convolution, pooling, losses...) live in
``fastnn.nn.functional`` and call the kernel backends; these are mostly plain NumPy.
"""
from ._broadcast import unbroadcast
from .arithmetic import Add, Div, MatMul, Mul, Neg, Pow, Sub
from .pointwise import Abs, Cast, Clamp, Exp, Log, PointwiseMethods, Sqrt
from .reduction import MaxMin, MaxResult, Mean, MinResult, ReductionMethods, Sum, Var
from .shape import Cat, GetItem, Permute, Reshape, ShapeMethods, Stack, Where
from .linalg import Einsum, LinalgMethods, einsum, tensordot
from . import return_types
from .functions import TOP_LEVEL
from .assign import Clone, CopyInto, SetItem
from . import activation  # noqa: F401,E402  (Tensor.relu/softmax... call it)
