"""numpy-named functions composed of graphjit's ops: ``gj.nansum``, ``gj.quantile``, ``gj.rot90``,
``gj.fmod``, ``gj.cov``, ``gj.isin``, ``gj.result_type``, ...

Users coming from numpy call these under numpy's names and signatures; each is built from the ops
of :mod:`graphjit.ops` (no op of its own), so it works on graph nodes on every backend and on eager
tensors, with the gradient of the ops it is made of. The few whose result size depends on the
values (``unique_values``, ``union1d``, ``bincount``, ...) take eager tensors and arrays only.

* :mod:`~graphjit.numpy_api.reductions`: NaN-ignoring reductions, ``average``, ``ptp``, ...;
* :mod:`~graphjit.numpy_api.quantiles`: ``quantile``, ``percentile`` and their nan-variants;
* :mod:`~graphjit.numpy_api.arrays`: shapes, arrangement and array construction;
* :mod:`~graphjit.numpy_api.elementwise`: ``fmod``, ``cbrt``, ``sinc``, ...;
* :mod:`~graphjit.numpy_api.products`: ``vdot``, ``vecdot``, ``cov``, ``convolve``, ...;
* :mod:`~graphjit.numpy_api.sets`: membership, set operations, counting and binning;
* :mod:`~graphjit.numpy_api.dtype_rules`: ``result_type``, ``promote_types``, ``can_cast``.

The family modules never import each other; each imports :mod:`~graphjit.numpy_api.naming`,
which reports an error raised inside a function under the name the user called.
"""

from graphjit.numpy_api import (
    arrays,
    dtype_rules,
    elementwise,
    products,
    quantiles,
    reductions,
    sets,
)
from graphjit.numpy_api.arrays import *  # noqa: F403
from graphjit.numpy_api.dtype_rules import *  # noqa: F403
from graphjit.numpy_api.elementwise import *  # noqa: F403
from graphjit.numpy_api.products import *  # noqa: F403
from graphjit.numpy_api.quantiles import *  # noqa: F403
from graphjit.numpy_api.reductions import *  # noqa: F403
from graphjit.numpy_api.sets import *  # noqa: F403

__all__ = [
    *reductions.__all__, *quantiles.__all__, *arrays.__all__, *elementwise.__all__,
    *products.__all__, *sets.__all__, *dtype_rules.__all__,
]  # fmt: skip
