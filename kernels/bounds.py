"""The IndexError of the compiled gathers and scatter-adds (re-exported as
``graphjit.errors.IndexOutOfBoundsError``). It lives with the kernels because generated programs
raise it: an exported model (``gj.export``) carries a copy of this package and nothing else of
graphjit."""

from __future__ import annotations

# What a negative class or row index (cross_entropy, nll_loss, embedding, one_hot) becomes in a
# graph before its gather: numpy's negative indices would silently pick a class from the end, while
# this one is out of bounds for any axis (and says so in IndexOutOfBoundsError's message).
REFUSED_NEGATIVE = -(2**63)


class IndexOutOfBoundsError(IndexError):
    """An index out of bounds found by a compiled gather or scatter-add when the graph ran. Its
    args are (op name, the index as given, axis, the axis's size), and its message is numpy's
    (``take: index 7 is out of bounds for axis 0 with size 3``)."""

    def __str__(self) -> str:
        if len(self.args) != 4:
            return super().__str__()
        op, index, axis, size = self.args
        if index == REFUSED_NEGATIVE:
            return (
                f"{op}: a negative index is out of bounds for axis {axis} with size {size} "
                f"(these indices must be in [0, {size}))"
            )
        return f"{op}: index {index} is out of bounds for axis {axis} with size {size}"
