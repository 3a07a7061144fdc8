"""``fastnn.autograd.profiler.profile``: how long each kind of operation took, as PyTorch's
autograd profiler reports it::

    with fastnn.autograd.profiler.profile() as prof:
        for _ in range(1000):
            z = (z / x) * y
    print(prof.key_averages().table(sort_by="self_cpu_time_total"))

It times every core operation's forward (``ArrayFunction.apply``) by the operation's name. It
is a teaching tool for "where does the time go": nested operations are not separated, so
self and total times are the same.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FunctionEventAvg:
    """One row of :meth:`profile.key_averages`: an operation's calls and CPU time (in µs)."""
    key: str
    count: int = 0
    self_cpu_time_total: float = 0.0

    @property
    def cpu_time_total(self) -> float:
        return self.self_cpu_time_total

    @property
    def cpu_time(self) -> float:
        return self.self_cpu_time_total / max(self.count, 1)


class EventList(list):
    """The rows, with PyTorch's ``table()``."""

    def table(self, sort_by=None, row_limit=100, **kwargs) -> str:
        rows = sorted(self, key=lambda e: getattr(e, sort_by), reverse=True) if sort_by else list(self)
        rows = rows[:row_limit] if row_limit and row_limit > 0 else rows
        total = sum(e.self_cpu_time_total for e in self) or 1.0
        headers = ("Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls")
        width = max([len(headers[0])] + [len(e.key) for e in rows]) + 2
        rule = "-" * width + "  " + "  ".join(["-" * 12] * 6)
        lines = [rule, headers[0].rjust(width) + "  " + "  ".join(h.rjust(12) for h in headers[1:]), rule]
        for e in rows:
            share = f"{100 * e.self_cpu_time_total / total:.2f}%"
            cells = (share, _us(e.self_cpu_time_total), share, _us(e.cpu_time_total), _us(e.cpu_time), str(e.count))
            lines.append(e.key.rjust(width) + "  " + "  ".join(c.rjust(12) for c in cells))
        lines += [rule, f"Self CPU time total: {_us(total)}", ""]
        return "\n".join(lines)


def _us(microseconds: float) -> str:
    if microseconds >= 1e6:
        return f"{microseconds / 1e6:.3f}s"
    if microseconds >= 1e3:
        return f"{microseconds / 1e3:.3f}ms"
    return f"{microseconds:.3f}us"


class profile:
    """Context manager that records the time of every operation run inside it. ``use_cuda``
    and the other PyTorch options are accepted (there is only the CPU to profile)."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False, use_kineto=False,
                 use_cpu=True, experimental_config=None, acc_events=False, custom_trace_id_callback=None):
        self.enabled = enabled
        self._events: dict[str, FunctionEventAvg] = {}
        self._previous = None

    def record(self, name: str, seconds: float) -> None:
        event = self._events.get(name)
        if event is None:
            event = self._events[name] = FunctionEventAvg(name)
        event.count += 1
        event.self_cpu_time_total += seconds * 1e6

    def __enter__(self):
        if self.enabled:
            from . import autograd
            self._previous, autograd._profiler = autograd._profiler, self
        return self

    def __exit__(self, *exc):
        if self.enabled:
            from . import autograd
            autograd._profiler = self._previous
        return False

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0) -> EventList:
        return EventList(self._events.values())

    def table(self, sort_by=None, row_limit=100, **kwargs) -> str:
        return self.key_averages().table(sort_by=sort_by, row_limit=row_limit)

    def __str__(self):
        return self.table()
