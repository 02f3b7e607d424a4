"""The op registry and the numpy-named public functions, one module per op family.

Layers inside (each imports only those above it in this list, and no family imports another):

* :mod:`~graphjit.ops.registry`: :class:`OpDef` and :data:`OPS`;
* :mod:`~graphjit.ops.leaves`: placeholders, constants and variables;
* :mod:`~graphjit.ops.dispatch`: :func:`apply`, lifting and promotion, the eager-backend protocol;
* :mod:`~graphjit.ops.prims`: binders through which one family applies another's ops;
* :mod:`~graphjit.ops.shape_rules`: broadcasting, axes and slices shared by the families;
* the families: elementwise, comparison, bitwise, reductions, statistics, softmax_family, shape,
  broadcast, joining, gather, indexing, linalg, trig, special, rounding, floating, scans,
  sorting, truth, diagonals, arrangement, stacking, counter_rng, convolution,
  pooling, resampling.

Importing this package registers every op in :data:`OPS`.
"""

from graphjit.ops import (  # noqa: F401
    arrangement,
    bitwise,
    broadcast,
    comparison,
    convolution,
    counter_rng,
    diagonals,
    elementwise,
    floating,
    gather,
    indexing,
    joining,
    leaves,
    linalg,
    pooling,
    reductions,
    resampling,
    rounding,
    scans,
    shape,
    softmax_family,
    sorting,
    special,
    stacking,
    statistics,
    trig,
    truth,
)
from graphjit.ops.arrangement import *  # noqa: F403
from graphjit.ops.bitwise import *  # noqa: F403
from graphjit.ops.broadcast import *  # noqa: F403
from graphjit.ops.comparison import *  # noqa: F403
from graphjit.ops.counter_rng import *  # noqa: F403
from graphjit.ops.diagonals import *  # noqa: F403
from graphjit.ops.dispatch import apply, astype, lift, result_dtype
from graphjit.ops.elementwise import *  # noqa: F403
from graphjit.ops.floating import *  # noqa: F403
from graphjit.ops.gather import *  # noqa: F403
from graphjit.ops.indexing import *  # noqa: F403
from graphjit.ops.joining import *  # noqa: F403
from graphjit.ops.leaves import Storage, Variable, constant, placeholder, variable
from graphjit.ops.linalg import *  # noqa: F403
from graphjit.ops.pooling import *  # noqa: F403
from graphjit.ops.reductions import *  # noqa: F403
from graphjit.ops.registry import OPS, OpDef, defop
from graphjit.ops.resampling import *  # noqa: F403
from graphjit.ops.rounding import *  # noqa: F403
from graphjit.ops.scans import *  # noqa: F403
from graphjit.ops.shape import *  # noqa: F403
from graphjit.ops.softmax_family import *  # noqa: F403
from graphjit.ops.sorting import *  # noqa: F403
from graphjit.ops.special import *  # noqa: F403
from graphjit.ops.stacking import *  # noqa: F403
from graphjit.ops.statistics import *  # noqa: F403
from graphjit.ops.trig import *  # noqa: F403
from graphjit.ops.truth import *  # noqa: F403

__all__ = [
    "OPS", "OpDef", "apply", "astype", "defop", "lift", "result_dtype", "Storage", "Variable",
    "constant", "placeholder", "variable",
    *elementwise.__all__, *comparison.__all__, *bitwise.__all__, *reductions.__all__,
    *statistics.__all__, *softmax_family.__all__, *shape.__all__, *broadcast.__all__,
    *joining.__all__,
    *gather.__all__, *indexing.__all__, *linalg.__all__,
    *trig.__all__, *special.__all__, *rounding.__all__, *floating.__all__,
    *scans.__all__, *sorting.__all__, *truth.__all__,
    *diagonals.__all__, *arrangement.__all__, *stacking.__all__, *counter_rng.__all__,
    *pooling.__all__, *resampling.__all__,
]  # fmt: skip
