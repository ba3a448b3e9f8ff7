"""Scripted faults of a fake: "the next N calls of this operation (for this key) fail like this".

A fake keeps one ``FaultScript`` and asks it, at the start of each call, whether a fault is due
(``take``). Faults of one operation are used in the order they were scripted; a fault with a
``key`` only hits calls about that key (an e-mail, an id, an anchor), so that a test stays exact
when the code under test calls from several threads in any order. Not thread-safe on its own:
the fakes call it under their lock.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass

from webex_provisioner.errors import ProvisionerError


@dataclass
class Fault:
    """One scripted fault. ``error`` is raised instead of answering; ``None`` means the call is
    applied and its answer then lost. ``after`` is how many items a read yields first."""

    operation: str
    error: ProvisionerError | None
    key: str | None = None
    remaining: int = 1
    after: int = 0

    def raised(self) -> ProvisionerError:
        """A fresh copy of ``error`` to raise (one instance is never raised twice)."""
        assert self.error is not None
        return copy.copy(self.error)


class FaultScript:
    """The faults scripted on one fake (``owner`` names it in messages), for ``operations``."""

    def __init__(self, owner: str, operations: Collection[str]) -> None:
        self._owner = owner
        self._operations = frozenset(operations)
        self._faults: list[Fault] = []

    def add(
        self,
        operation: str,
        error: ProvisionerError | None,
        *,
        times: int = 1,
        key: str | None = None,
        after: int = 0,
    ) -> None:
        """Make the next ``times`` calls of ``operation`` (about ``key``, when given) fail."""
        if operation not in self._operations:
            known = ", ".join(sorted(self._operations))
            raise ValueError(f"{self._owner} has no operation {operation!r} to fail; it has {known}")
        if times < 1:
            raise ValueError(
                f"a fault of {self._owner}.{operation} must hit at least once, not {times} times"
            )
        if after < 0:
            raise ValueError(f"a read of {self._owner} cannot fail after {after} items")
        self._faults.append(Fault(operation, error, key, times, after))

    def take(self, operation: str, keys: Collection[str] = ()) -> Fault | None:
        """The fault due for this call of ``operation`` about ``keys``, used up by one; or ``None``."""
        for fault in self._faults:
            if fault.operation == operation and (fault.key is None or fault.key in keys):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def pending(self) -> int:
        """How many scripted failures have not happened yet."""
        return sum(fault.remaining for fault in self._faults)

    def clear(self) -> None:
        self._faults.clear()
