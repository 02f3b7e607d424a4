"""Locks and write counters for the arrays behind graph variables.

Compiled calls that update variables, and ``Variable.set_value``, write variable arrays while other
threads may be reading them (compiled programs release the GIL). :data:`STATE_LOCKS` serialises the
writers and lets readers check, without locking, that what they read was not written meanwhile
(see :mod:`graphjit.runtime` for how calls use it).
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

# optimistic runs of a variable-reading call before it waits for the writers' locks
OPTIMISTIC_TRIES = 3

T = TypeVar("T")


class StateLocks:
    """Locks and write counters for variable storage, striped by the address of a storage's data.

    A variable maps to one stripe; calls take the stripes they need in ascending order (so any set
    of functions can lock any sets of variables without deadlock). Two variables sharing a stripe
    only serialise more than needed. Each stripe has a counter that a writer makes odd before
    writing and even after, so that readers can check, without locking, that nothing they read
    was written while they ran. Stripes are keyed by memory, not by
    :class:`Storage` object, so two storages over one array share their locks."""

    def __init__(self, stripes: int = 512) -> None:
        self.locks = tuple(threading.Lock() for _ in range(stripes))
        self.versions = [0] * stripes

    def stripe(self, array: np.ndarray | int) -> int:
        """The stripe of a host array, or of a storage's lock key (an int: see ``Storage.key``,
        which stays the same when a variable moves to a GPU and back)."""
        address = array if isinstance(array, int) else array.__array_interface__["data"][0]
        return hash((address,)) % len(self.locks)

    def stripes(self, arrays: Sequence[np.ndarray | int]) -> tuple[int, ...]:
        """The stripes of ``arrays`` (or lock keys), sorted and without repeats: the order locks
        are taken in."""
        return tuple(sorted({self.stripe(a) for a in arrays}))

    # A KeyboardInterrupt (Ctrl-C) is raised in the main thread at the next call or loop
    # iteration after it arrives, the first line of a Python function included: a function
    # taking locks can be interrupted after taking one and before the ``try`` that lets go of it,
    # and one letting go of them can be interrupted on entry. A ``with`` statement on a lock is
    # the exception: the lock's own (C) enter and exit, with nothing in between that Python can
    # interrupt. So every lock is taken by one, and no Ctrl-C leaves a stripe locked (the next
    # call touching it would wait forever).

    def call(self, stripes: Sequence[int], fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` with the locks of ``stripes`` held (sorted and distinct, as
        :meth:`stripes` returns them)."""
        return _locked(self.locks, stripes, 0, fn, args)

    def write(self, stripes: Sequence[int], fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, which writes the arrays of ``stripes``, with their locks held and
        their counters odd meanwhile (readers see the write)."""
        return self.call(stripes, self._writing, stripes, fn, args)

    def _writing(self, stripes: Sequence[int], fn: Callable[..., T], args: Sequence[Any]) -> T:
        self.begin_write(stripes)
        try:
            return fn(*args)
        finally:
            self.end_write(stripes)

    def begin_write(self, stripes: Sequence[int]) -> None:
        """Mark ``stripes`` as being written (odd counters); the caller holds their locks and
        calls :meth:`end_write` after writing. Both are idempotent, so a write whose
        ``end_write`` a Ctrl-C skipped ends with the next write (until then readers of those
        stripes take the locks: slower, never wrong)."""
        versions = self.versions
        for i in stripes:
            versions[i] |= 1

    def end_write(self, stripes: Sequence[int]) -> None:
        """The counters of ``stripes`` up to the next even number: written."""
        versions = self.versions
        for i in stripes:
            versions[i] += versions[i] & 1

    def snapshot(self, stripes: Sequence[int]) -> Callable[[], tuple[int, ...]]:
        """A function returning the current counters of ``stripes`` (one call per check)."""
        versions = self.versions
        if not stripes:
            return tuple
        if len(stripes) == 1:
            (i,) = stripes
            return lambda: (versions[i],)
        get = operator.itemgetter(*stripes)
        return lambda: get(versions)


def _locked(
    locks: Sequence[threading.Lock], stripes: Sequence[int], k: int, fn: Callable[..., T], args: Any
) -> T:
    """``fn(*args)`` inside ``with`` statements on the locks of ``stripes[k:]``, four to a
    frame (a Ctrl-C between two frames finds the outer ones' locks let go by their ``with``)."""
    n = len(stripes) - k
    if n <= 0:
        return fn(*args)
    if n == 1:
        with locks[stripes[k]]:
            return fn(*args)
    if n == 2:
        with locks[stripes[k]], locks[stripes[k + 1]]:
            return fn(*args)
    if n == 3:
        with locks[stripes[k]], locks[stripes[k + 1]], locks[stripes[k + 2]]:
            return fn(*args)
    with locks[stripes[k]], locks[stripes[k + 1]], locks[stripes[k + 2]], locks[stripes[k + 3]]:
        return _locked(locks, stripes, k + 4, fn, args)


STATE_LOCKS = StateLocks()
