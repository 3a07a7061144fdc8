"""How a tensor prints: a port of PyTorch's ``torch/_tensor_str.py`` to NumPy arrays.

Learners put fastnn's output next to PyTorch's, so ``repr(tensor)`` follows PyTorch's
algorithm step by step rather than NumPy's ``array2string`` (which chooses widths, signs
and exponents differently). The steps are:

1. **One format for the whole tensor** (:class:`_Formatter`). PyTorch looks at every
   element that will be shown and picks a single style and a single column width, so
   that the columns line up:

   * integers and bools print as Python prints them (``3``, ``True``);
   * floats whose non-zero finite values are all whole numbers print as ``3.``
     ("int mode": the dot says the tensor is floating point);
   * other floats print with ``precision`` decimals (``0.1235``);
   * *scientific notation* (``1.2346e+05``) replaces either of the two above when fixed
     point would mislead or waste space: when the largest magnitude is over ``1e8``,
     the smallest is under ``1e-4`` (it would print as ``0.0000``), or the two are more
     than 1000 times apart (the small ones would lose their significant digits).
     ``set_printoptions(sci_mode=True/False)`` overrides that choice.

2. **Nesting** (:func:`_tensor_str_with_formatter`): one bracket per dimension; rows of
   a 2-d block are separated by a newline, blocks of higher dimensions by one more blank
   line per extra dimension, and every row is indented under its opening bracket.

3. **Wrapping** (:func:`_vector_str`): the innermost rows are cut into lines of as many
   elements as fit in ``linewidth`` columns.

4. **Summarising**: a tensor of more than ``threshold`` elements shows only the first
   and last ``edgeitems`` entries of every dimension, with ``...`` between them. The
   format of step 1 is then chosen from the shown entries only
   (:func:`_summarized_data`).

5. **Suffixes** (:func:`_add_suffixes`): ``dtype=`` when the dtype is not one PyTorch
   leaves unsaid, ``size=`` for empty tensors that are not 1-d, then ``grad_fn=<...>``
   or ``requires_grad=True``; a suffix that would cross ``linewidth`` goes on its own line.

The options live in :data:`PRINT_OPTS` and are changed with :func:`set_printoptions` or,
for a block of code, :func:`printoptions`, exactly as in PyTorch.

The module depends on NumPy only; ``Tensor.__repr__`` calls :func:`tensor_repr`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Iterator

import numpy as np

__all__ = ["PRINT_OPTS", "set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4          # decimals of a float (fixed point) or of its mantissa (scientific)
    threshold: float = 1000     # more elements than this are summarised
    edgeitems: int = 3          # entries shown at each end of a summarised dimension
    linewidth: int = 80         # columns a row of elements (and the suffixes) may fill
    sci_mode: bool | None = None  # None: the formatter decides per tensor


#: The current print options (module-wide, as PyTorch's ``torch._tensor_str.PRINT_OPTS``).
PRINT_OPTS = _PrinterOptions()

#: ``set_printoptions(profile=...)``: each profile sets all four numeric options.
_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None) -> None:
    """Set the options for printing tensors (PyTorch's ``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point (default 4).
        threshold: tensors with more elements than this are summarised (default 1000).
        edgeitems: entries shown at the start and end of each summarised dimension (default 3).
        linewidth: columns per line before a row of elements wraps (default 80).
        profile: ``"default"``, ``"short"`` (precision 2, edgeitems 2) or ``"full"``
            (never summarise); applied first, so the other arguments override it.
            As in PyTorch, any other name is ignored.
        sci_mode: True or False forces scientific notation on or off; None lets each
            tensor choose (see the module docstring).

    As in PyTorch, ``sci_mode`` is set by *every* call: ``set_printoptions(precision=2)``
    also returns ``sci_mode`` to None.
    """
    if profile in _PROFILES:
        for name, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, name, value)
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current options, as a dict that ``set_printoptions(**options)`` accepts."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs) -> Iterator[None]:
    """Change the print options (the arguments of :func:`set_printoptions`) for a ``with`` block."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """One format, and one column width, for every element of a tensor.

    Built from the elements that will be shown; :meth:`format` then turns any of them
    into a string of at least :meth:`width` characters, padded on the left.
    """

    def __init__(self, data: np.ndarray):
        self.floating_dtype = data.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        values = data.reshape(-1)

        if not self.floating_dtype:
            for value in values.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return

        # zeros, nan and inf print the same in every style, so only the other values
        # decide the style and the width
        nonzero_finite = values[np.isfinite(values) & (values != 0)]
        if nonzero_finite.size == 0:
            return

        # in float64, as PyTorch does: a float16 ratio of magnitudes would overflow
        magnitudes = np.abs(nonzero_finite).astype(np.float64)
        smallest, largest = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode

        precision = PRINT_OPTS.precision
        for value in nonzero_finite.tolist():
            if self.sci_mode:
                width = len(f"{value:.{precision}e}")
            elif self.int_mode:
                width = len(f"{value:.0f}") + 1     # + 1 for the trailing "."
            else:
                width = len(f"{value:.{precision}f}")
            self.max_width = max(self.max_width, width)

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        """``value`` (a Python int, bool or float) in this tensor's style, right-aligned."""
        if not self.floating_dtype:
            text = f"{value}"
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{PRINT_OPTS.precision}f}"
        return text.rjust(self.max_width)


def _vector_str(data: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    """A 1-d array as ``[a, b, c]``, wrapped to ``linewidth`` columns; continuation lines
    start under the first element (``indent`` is the column of the opening bracket)."""
    element_length = formatter.width() + 2      # the element, then ", "
    elements_per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    edgeitems = PRINT_OPTS.edgeitems

    if summarize and not edgeitems:
        elements = ["..."]
    elif summarize and len(data) > 2 * edgeitems:
        elements = ([formatter.format(value) for value in data[:edgeitems].tolist()] + [" ..."]
                    + [formatter.format(value) for value in data[-edgeitems:].tolist()])
    else:
        elements = [formatter.format(value) for value in data.tolist()]

    lines = [", ".join(elements[i:i + elements_per_line]) for i in range(0, len(elements), elements_per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(data: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    """``data`` (any number of dimensions) nested in brackets, opening at column ``indent``."""
    if data.ndim == 0:
        return formatter.format(data.item())
    if data.ndim == 1:
        return _vector_str(data, indent, summarize, formatter)

    edgeitems = PRINT_OPTS.edgeitems
    if summarize and len(data) > 2 * edgeitems:
        slices = ([_tensor_str_with_formatter(data[i], indent + 1, summarize, formatter) for i in range(edgeitems)]
                  + ["..."]
                  + [_tensor_str_with_formatter(data[i], indent + 1, summarize, formatter)
                     for i in range(len(data) - edgeitems, len(data))])
    else:
        slices = [_tensor_str_with_formatter(row, indent + 1, summarize, formatter) for row in data]

    # rows of a matrix on consecutive lines; matrices of a 3-d tensor one blank line
    # apart, of a 4-d tensor two, and so on
    separator = "," + "\n" * (data.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(slices) + "]"


def _summarized_data(data: np.ndarray) -> np.ndarray:
    """The entries a summarised print shows (the first and last ``edgeitems`` along every
    dimension), gathered into one array, so that the format is chosen from them alone."""
    edgeitems = PRINT_OPTS.edgeitems
    if data.ndim == 0:
        return data
    if data.ndim == 1:
        # (with edgeitems == 0, data[-0:] is the whole row, as in PyTorch; only "..." is shown)
        return np.concatenate((data[:edgeitems], data[-edgeitems:])) if len(data) > 2 * edgeitems else data
    if not edgeitems:
        return np.empty((0,) * data.ndim, dtype=data.dtype)
    rows = list(data[:edgeitems]) + list(data[-edgeitems:]) if len(data) > 2 * edgeitems else list(data)
    return np.stack([_summarized_data(row) for row in rows])


def _tensor_str(data: np.ndarray, indent: int) -> str:
    """The bracketed elements of a non-empty array, whose ``[`` is at column ``indent``."""
    summarize = data.size > PRINT_OPTS.threshold
    formatter = _Formatter(_summarized_data(data) if summarize else data)
    return _tensor_str_with_formatter(data, indent, summarize, formatter)


# fastnn's dtype suffix reads "dtype=fastnn.float64" where PyTorch's reads "dtype=torch.float64",
# one character longer. Line breaks are decided on PyTorch's spelling, so that they fall
# exactly where PyTorch's do.
_NAMESPACE, _TORCH_NAMESPACE = "fastnn.", "torch."


def _add_suffixes(tensor_str: str, suffixes: list[str], indent: int) -> str:
    """Append ``, suffix`` for each suffix and the closing ``)``; a suffix that would end
    past ``linewidth`` starts a new line at column ``indent``."""
    parts = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1    # PyTorch's count, kept exactly
    for suffix in suffixes:
        suffix_len = len(suffix.replace(_NAMESPACE, _TORCH_NAMESPACE))
        if last_line_len + suffix_len + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
        else:
            parts.append(", " + suffix)
            last_line_len += suffix_len + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(data: np.ndarray, *, dtype_name: str, default_dtype: bool, requires_grad: bool = False,
                grad_fn_name: str | None = None) -> str:
    """What PyTorch's ``repr()`` prints for a CPU tensor holding ``data``.

    Args:
        data: the tensor's values (a NumPy array of bool, integer or floating dtype).
        dtype_name: the dtype as printed after ``dtype=``, i.e. ``repr()`` of a fastnn
            dtype: ``"fastnn.float64"`` where PyTorch prints ``torch.float64``.
        default_dtype: True for the dtypes PyTorch leaves unsaid because ``tensor(...)``
            infers them from Python data: the default floating dtype (float32), int64 and bool.
        requires_grad: whether the tensor requires grad (printed only for a leaf).
        grad_fn_name: the class name of the node that made the tensor (``"MulBackward0"``),
            or None for a leaf.
    """
    prefix = "tensor("
    indent = len(prefix)
    dtype_suffix = f"dtype={dtype_name}"
    suffixes = []
    if data.size == 0:
        tensor_str = "[]"
        # like NumPy, the shape is shown unless it is (0,)
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
        # no elements to show that the values are integers or bools, so every dtype but
        # the default floating one is spelled out
        if not (default_dtype and data.dtype.kind == "f"):
            suffixes.append(dtype_suffix)
    else:
        # with edgeitems=0 a summarised tensor prints as just [...], so PyTorch then gives
        # the shape of every tensor
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(data.shape)}")
        if not default_dtype:
            suffixes.append(dtype_suffix)
        tensor_str = _tensor_str(data, indent)

    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + tensor_str, suffixes, indent)
