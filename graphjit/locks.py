"""Locks and write counters for the arrays behind graph variables.

Compiled calls that update variables, and ``Variable.set_value``, write variable arrays while other
threads may be reading them (compiled programs release the GIL). :data:`STATE_LOCKS` serialises the
writers and lets readers check, without locking, that what they read was not written meanwhile
(see :mod:`graphjit.runtime` for how calls use it).
"""

from __future__ import annotations

import contextlib
import operator
import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np

# optimistic runs of a variable-reading call before it waits for the writers' locks
OPTIMISTIC_TRIES = 3


class StateLocks:
    """Locks and write counters for variable storage, striped by the address of a storage's data.

    A variable maps to one stripe; calls take the stripes they need in ascending order (so any set
    of functions can lock any sets of variables without deadlock). Two variables sharing a stripe
    only serialise more than needed. Each stripe has a counter that a writer increments before and
    after writing (odd while a write is in progress) so that readers can check, without locking,
    that nothing they read was written while they ran. Stripes are keyed by memory, not by
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

    def acquire(self, stripes: Sequence[int]) -> None:
        """Take the locks of ``stripes`` (sorted and distinct, as :meth:`stripes` returns them);
        release them with :meth:`release`."""
        locks = self.locks
        for k, i in enumerate(stripes):
            try:
                locks[i].acquire()
            except BaseException:
                self.release(stripes[:k])
                raise

    def release(self, stripes: Sequence[int]) -> None:
        locks = self.locks
        for i in reversed(stripes):
            locks[i].release()

    @contextlib.contextmanager
    def hold(self, stripes: Sequence[int]) -> Iterator[None]:
        """Hold the locks of ``stripes`` for a block."""
        self.acquire(stripes)
        try:
            yield
        finally:
            self.release(stripes)

    def begin_write(self, stripes: Sequence[int]) -> None:
        """Mark ``stripes`` as being written (odd counters); the caller holds their locks and
        calls :meth:`end_write` after writing."""
        versions = self.versions
        for i in stripes:
            versions[i] += 1

    end_write = begin_write

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


STATE_LOCKS = StateLocks()
