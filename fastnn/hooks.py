"""``RemovableHandle``: what every ``register_*hook`` returns (``Tensor.register_hook``,
``Module.register_forward_pre_hook``, ``register_forward_hook``, ``register_full_backward_hook``).

Hooks live in an ordered dict ``{handle id: hook}`` on their owner, so they run in
registration order and ``handle.remove()`` deletes exactly the one it registered, even
when the same function is registered twice.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict


class RemovableHandle:
    """Removes one hook: ``handle.remove()``, or ``with handle:`` for a hook that lives
    for a block only (as ``torch.utils.hooks.RemovableHandle``)."""

    _next_id = itertools.count()

    def __init__(self, hooks_dict: OrderedDict):
        self.hooks_dict = hooks_dict
        self.id = next(RemovableHandle._next_id)

    def remove(self) -> None:
        """Unregister the hook; removing it twice is harmless."""
        self.hooks_dict.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def add_hook(hooks_dict: OrderedDict, hook, prepend: bool = False) -> RemovableHandle:
    """Put ``hook`` last in ``hooks_dict`` (first with ``prepend=True``) and return its handle."""
    if not callable(hook):
        raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
    handle = RemovableHandle(hooks_dict)
    hooks_dict[handle.id] = hook
    if prepend:
        hooks_dict.move_to_end(handle.id, last=False)
    return handle
