"""Random well-typed programs drawn from the whole op registry, from one integer seed.

Each registry op has a rule that draws one :class:`Step` applying it to values the program already
has (and, when no value fits, to a new input leaf of a shape that does): elementwise ops get one
from their OpDef (arity from the scalar template, the public function of the op's name); every
other op has a rule in :data:`RULES` or a reason in :data:`EXCLUDED`. ``uncovered()`` lists the
ops with neither, which a test keeps empty: a new op is generated or consciously left out.

A step is kept only when it builds (the ops' shape rules accept it), the reference interpreter
evaluates it, and it is well conditioned: no float argument of a discontinuous op (floor, a
comparison, a cast to int, argmax...) lies within rounding distance of a jump, where backends that
round differently could legitimately disagree, and integers stay small (no overflow).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphjit import ir, ops
from graphjit.fuzz.program import Leaf, Program, Ref, Step, apply_step, build_graph
from graphjit.interp import evaluate
from graphjit.ir import Node
from graphjit.ops import OPS
from graphjit.ops.dispatch import lift
from graphjit.ops.leaves import placeholder, variable

MAX_DEPTH = 8
DTYPES = ("float64", "float64", "float32", "int64", "int32")
SCALARS = (2, -1, 3, 0.5, -1.5, 2.0)
BUILD_ERRORS = (ValueError, TypeError, IndexError, NotImplementedError)

EXCLUDED: dict[str, str] = {
    "placeholder": "a leaf: every program has them",
    "constant": "a leaf: literal arguments (index arrays, numbers) become constants",
    "variable": "a leaf: programs have variables with updates",
    "slice_axes_grad": "internal: only the vjp of slice_axes builds it (checked by gradients)",
    "concatenate_part": "internal: only the vjp of concatenate builds it (checked by gradients)",
    "diagonal_grad": "internal: only the vjp of diagonal builds it (checked by gradients)",
    "cumargmax": "built by gj.cummax, which returns (values, indices); a step has one output",
    "cumargmin": "built by gj.cummin, which returns (values, indices); a step has one output",
    "searchsorted": "needs a sorted 1-d first argument (tests/ops/test_scans_sorting.py covers it)",
    "counter_uniform": "built by dropout from the generator's variables and element indices "
    "(tests/ops/test_counter_rng.py and the registry cases cover it)",
    "conv": "needs channels-first operands of matching ranks and kernel sizes the random shapes "
    "rarely fit (tests/ops/test_convolution.py covers strides, padding, dilation, groups)",
    "conv_input_grad": "the transposed conv: covered with conv in tests/ops/test_convolution.py",
    "conv_weight_grad": "internal: only the derivatives of conv build it (checked by gradients)",
    # pooling and resampling are gj.nn.functional's (steps call gj.* functions); they need
    # image-shaped inputs and are covered by tests/ops/test_pooling.py and the registry cases
    "max_pool": "a gj.nn.functional op (max_pool1d/2d); tests/ops/test_pooling.py covers it",
    "max_pool_indices": "built by max_pool2d(return_indices=True) and max pooling's gradient",
    "adaptive_max_pool": "a gj.nn.functional op (adaptive_max_pool1d/2d)",
    "adaptive_max_pool_indices": "built by adaptive_max_pool2d(return_indices=True) and its vjp",
    "pool_scatter": "internal: only max pooling's vjp builds it (checked by gradients)",
    "pool_gather": "internal: max pooling's jvp and pool_scatter's vjp build it",
    "avg_pool": "a gj.nn.functional op (avg_pool1d/2d); tests/ops/test_pooling.py covers it",
    "avg_pool_grad": "internal: only the vjp of avg_pool builds it (checked by gradients)",
    "adaptive_avg_pool": "a gj.nn.functional op (adaptive_avg_pool1d/2d, interpolate 'area')",
    "adaptive_avg_pool_grad": "internal: only the vjp of adaptive_avg_pool builds it",
    "resample": "built by gj.nn.functional.interpolate; tests/ops/test_resampling.py covers it",
    "resample_grad": "internal: only the vjp of resample builds it (checked by gradients)",
}

# arguments of these ops are usually moved into the op's domain (abs(x) + 0.5), so that most
# values are finite; the rest still reach NaN and inf, whose positions are compared too
POSITIVE_DOMAIN = frozenset({"log", "log2", "log1p", "sqrt", "reciprocal", "power", "divide"})


@dataclass
class Draw:
    """A program being drawn: its items, their graph nodes (static shapes), reference values and
    depths."""

    rng: np.random.Generator
    items: list[Leaf | Step] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)

    def shape(self, i: int) -> tuple[int, ...]:
        return tuple(int(d) for d in self.nodes[i].shape)  # type: ignore[arg-type]

    def dtype(self, i: int) -> str:
        return str(self.nodes[i].dtype)

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.rng.integers(len(seq)))]

    def pick(self, fits: Callable[[int], bool] = lambda i: True) -> int | None:
        """A value that ``fits``, recent values likelier (so chains grow deep)."""
        found = [i for i in range(len(self.items)) if self.depth[i] < MAX_DEPTH and fits(i)]
        if not found:
            return None
        weights = np.arange(1, len(found) + 1, dtype=float)
        return int(self.rng.choice(found, p=weights / weights.sum()))

    def leaf(
        self,
        shape: Sequence[int],
        dtype: str | None = None,
        is_variable: bool = False,
        value: np.ndarray | None = None,
    ) -> int:
        """A new input (or variable) leaf of ``shape``, random unless ``value`` is given."""
        dtype = dtype or self.choice(DTYPES)
        if value is None:
            value = random_array(self.rng, tuple(shape), dtype)
        name = f"{'w' if is_variable else 'x'}{len(self.items)}"
        self.items.append(Leaf(name, value, (False,) * len(shape), is_variable))
        if is_variable:
            self.nodes.append(variable(value.copy(), name=name))
        else:
            self.nodes.append(placeholder(name, tuple(shape), dtype))
        self.values.append(value)
        self.depth.append(0)
        return len(self.items) - 1

    def operand(self, shape: Sequence[int], fits: Callable[[int], bool] | None = None) -> int:
        """A value of exactly ``shape`` (passing ``fits``), or a new leaf of it."""
        found = self.pick(lambda i: self.shape(i) == tuple(shape) and (fits is None or fits(i)))
        if found is not None and self.rng.random() < 0.7:
            return found
        return self.leaf(shape)

    def add(self, step: Step) -> bool:
        """Append ``step`` if it builds, evaluates and is well conditioned."""
        try:
            node = lift(apply_step(step, self.nodes))
        except BUILD_ERRORS:
            return False
        if not isinstance(node, Node):
            return False
        known = set(self.nodes)
        new = [n for n in ir.toposort([node]) if n not in known]
        feed = {n: v for n, v in zip(self.nodes, self.values) if n.op.name == "placeholder"}
        try:
            with np.errstate(all="ignore"):
                values = evaluate([node, *(x for n in new for x in n.inputs)], feed)
        except Exception:
            return False
        by_node = dict(zip([node, *(x for n in new for x in n.inputs)], values))
        with np.errstate(all="ignore"):
            if not all(_well_conditioned(n, [by_node[x] for x in n.inputs]) for n in new):
                return False
        if np.issubdtype(values[0].dtype, np.integer) and np.any(np.abs(values[0]) > 2**20):
            return False
        self.items.append(step)
        self.nodes.append(node)
        self.values.append(values[0])
        self.depth.append(1 + max((self.depth[r] for r in step.refs()), default=0))
        return True


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype.startswith("int"):
        return rng.integers(-3, 4, shape).astype(dtype)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    return rng.uniform(-2, 2, shape).round(6).astype(dtype)


# --------------------------------------------------------------------------------------------------
# conditioning: how far a float argument is from where a discontinuous op jumps


def _near(distance: np.ndarray, scale: np.ndarray, dtype: Any) -> bool:
    rel = 1e-3 if dtype == np.float32 else 1e-6
    with np.errstate(all="ignore"):
        near = np.abs(distance) <= rel * np.maximum(1.0, np.abs(scale))
    return bool(np.any(near & np.isfinite(scale)))


def _well_conditioned(node: Node, args: list[np.ndarray]) -> bool:
    name = node.op.name
    floats = [a for a in args if np.issubdtype(a.dtype, np.floating)]
    if not floats:
        return True
    x = floats[0]
    if name in ("floor", "ceil"):
        return not _near(x - np.round(x), x, x.dtype)
    if name == "round":
        return not _near(np.abs(x - np.floor(x)) - 0.5, x, x.dtype)
    if name == "sign":
        return not _near(x, x, x.dtype)
    if name == "astype":
        target = np.dtype(node.attrs["dtype"])
        if target == np.bool_:
            return not _near(x, x, x.dtype)
        if np.issubdtype(target, np.integer):
            fits = np.all(np.isfinite(x)) and np.all(np.abs(x) < 2**20)
            return bool(fits) and not _near(x - np.round(x), x, x.dtype)
        return True
    if name in ("less", "less_equal", "greater", "greater_equal", "equal", "not_equal"):
        a, b = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in args))
        return not _near(a - b, np.maximum(np.abs(a), np.abs(b)), x.dtype)
    if name in ("argmax", "argmin"):
        flat = np.sort(x[np.isfinite(x)].ravel())
        gaps = np.diff(flat)
        return not _near(gaps[gaps > 0], flat[1:][gaps > 0], x.dtype)
    return True


# --------------------------------------------------------------------------------------------------
# rules: one per op (elementwise ops get theirs from the registry)

Rule = Callable[[Draw, str], Step | None]
RULES: dict[str, Rule] = {}


def rule(*names: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for name in names:
            RULES[name] = fn
        return fn

    return register


def _arity(template: str) -> int:
    return len(set(re.findall(r"\{(\d+)\}", template)))


def _broadcast_partner(d: Draw, shape: tuple[int, ...]) -> Any:
    """An argument that broadcasts with ``shape``: a value, a Python number or a new leaf."""
    r = d.rng.random()
    if r < 0.2:
        return d.choice(SCALARS)
    if r < 0.6:

        def fits(i: int) -> bool:
            try:
                np.broadcast_shapes(shape, d.shape(i))
            except ValueError:
                return False
            return True

        found = d.pick(fits)
        if found is not None:
            return Ref(found)
    # a new leaf: a suffix of shape with some dims set to 1, or a dim prepended
    ndim = int(d.rng.integers(0, len(shape) + 1))
    partner = [1 if d.rng.random() < 0.3 else s for s in shape[len(shape) - ndim :]]
    if d.rng.random() < 0.15:
        partner.insert(0, int(d.rng.integers(1, 3)))
    return Ref(d.leaf(partner))


def _in_domain(d: Draw, x: int) -> int:
    """``abs(x) + 0.5``, a value in the domain of log, sqrt, ..."""
    for step in (Step("abs", (Ref(x),), op="abs"), Step("add", (Ref(len(d.items)), 0.5), op="add")):
        if not d.add(step):
            return x
    return len(d.items) - 1


def elementwise_rule(name: str) -> Rule:
    arity = _arity(OPS[name].lower)

    def draw(d: Draw, name: str) -> Step | None:
        x = d.pick()
        if x is None:
            return None
        if name in POSITIVE_DOMAIN and d.rng.random() < 0.7:
            x = _in_domain(d, x)
        args: list[Any] = [Ref(x)]
        for _ in range(arity - 1):
            args.append(_broadcast_partner(d, d.shape(x)))
        order = d.rng.permutation(arity) if name not in POSITIVE_DOMAIN else range(arity)
        return Step(name, tuple(args[i] for i in order), op=name)

    return draw


for _name, _op in OPS.items():
    if _op.kind == "elementwise" and _name not in ("astype", *EXCLUDED) and hasattr(ops, _name):
        RULES[_name] = elementwise_rule(_name)


def _axis_arg(d: Draw, ndim: int, tuples: bool = True) -> Any:
    if ndim == 0 or d.rng.random() < 0.25:
        return None
    if tuples and ndim > 1 and d.rng.random() < 0.3:
        k = int(d.rng.integers(1, ndim + 1))
        return tuple(sorted(int(a) for a in d.rng.choice(ndim, k, replace=False)))
    axis = int(d.rng.integers(ndim))
    return axis - ndim if d.rng.random() < 0.3 else axis


@rule("astype")
def _astype(d: Draw, name: str) -> Step | None:
    x = d.pick()
    if x is None:
        return None
    targets = [t for t in ("float64", "float32", "int64", "int32", "bool") if t != d.dtype(x)]
    return Step("astype", (Ref(x), d.choice(targets)), op="astype")


@rule("full_like")
def _full_like(d: Draw, name: str) -> Step | None:
    x = d.pick()
    if x is None:
        return None
    kwargs = (("dtype", d.choice(("float64", "float32", "int64"))),) if d.rng.random() < 0.4 else ()
    return Step("full_like", (Ref(x), d.choice(SCALARS)), kwargs, op="full_like")


@rule("sum", "prod", "max", "min", "logsumexp")
def _reduction(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: name not in ("max", "min") or 0 not in d.shape(i))
    if x is None:
        return None
    kwargs = (("axis", _axis_arg(d, len(d.shape(x)))), ("keepdims", bool(d.rng.random() < 0.3)))
    return Step(name, (Ref(x),), kwargs, op=name)


@rule("cumsum", "cumprod", "argsort")
def _scan(d: Draw, name: str) -> Step | None:
    """A running sum or product, or the stable sorting order, along one axis (or flattened)."""
    x = d.pick(lambda i: name != "argsort" or 0 not in d.shape(i))
    if x is None:
        return None
    axis = _axis_arg(d, len(d.shape(x)), tuples=False)
    if name == "argsort" and axis is None:
        axis = -1
    return Step(name, (Ref(x),), (("axis", axis),), op=name)


@rule("logcumsumexp")
def _logcumsumexp(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: len(d.shape(i)) > 0 and d.dtype(i).startswith("float"))
    if x is None:
        return None
    dim = int(d.rng.integers(len(d.shape(x))))
    return Step(name, (Ref(x),), (("dim", dim),), op=name)


@rule("diagonal")
def _diagonal(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: len(d.shape(i)) >= 2)
    if x is None:
        return None
    ndim = len(d.shape(x))
    axis1, axis2 = (int(a) for a in d.rng.choice(ndim, 2, replace=False))
    offset = int(d.rng.integers(-1, 2))
    kwargs = (("offset", offset), ("axis1", axis1), ("axis2", axis2))
    return Step(name, (Ref(x),), kwargs, op=name)


@rule("argmax", "argmin")
def _arg_reduction(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: 0 not in d.shape(i))
    if x is None:
        return None
    axis = _axis_arg(d, len(d.shape(x)), tuples=False)
    return Step(name, (Ref(x),), (("axis", axis),), op=name)


@rule("size_of")
def _size_of(d: Draw, name: str) -> Step | None:
    """size_of directly, and as mean, var and std use it."""
    fn = d.choice(("size_of", "mean", "var", "std"))
    x = d.pick()
    if x is None:
        return None
    axis = _axis_arg(d, len(d.shape(x)))
    key = "axes" if fn == "size_of" else "axis"
    return Step(fn, (Ref(x),), ((key, axis),), op="size_of")


@rule("softmax", "log_softmax")
def _softmax(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: len(d.shape(i)) > 0)
    if x is None:
        return None
    axis = _axis_arg(d, len(d.shape(x)))
    return Step(name, (Ref(x),), (("axis", -1 if axis is None else axis),), op=name)


def _factor_shape(d: Draw, size: int) -> tuple[int, ...]:
    dims: list[int] = []
    rest = size
    while rest > 1 and len(dims) < 3:
        divisors = [k for k in range(2, rest + 1) if rest % k == 0]
        k = d.choice(divisors)
        dims.append(k)
        rest //= k
    dims += [1] * int(d.rng.integers(0, 2))
    d.rng.shuffle(dims)
    return tuple(dims) if size > 0 else (0,)


@rule("reshape", "reshape_like")
def _reshape(d: Draw, name: str) -> Step | None:
    x = d.pick()
    if x is None:
        return None
    size = int(np.prod(d.shape(x)))
    if name == "reshape_like":
        ref = d.pick(lambda i: i != x and int(np.prod(d.shape(i))) == size)
        if ref is None:
            ref = d.leaf(_factor_shape(d, size))
        return Step("reshape_like", (Ref(x), Ref(ref)), op="reshape_like")
    target = list(_factor_shape(d, size))
    if target and size > 0 and d.rng.random() < 0.5:
        target[int(d.rng.integers(len(target)))] = -1
    return Step("reshape", (Ref(x), tuple(target)), op="reshape")


@rule("transpose")
def _transpose(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: len(d.shape(i)) >= 2)
    if x is None:
        return None
    axes = tuple(int(a) for a in d.rng.permutation(len(d.shape(x))))
    return Step("transpose", (Ref(x), axes), op="transpose")


@rule("expand_dims", "squeeze")
def _expand_squeeze(d: Draw, name: str) -> Step | None:
    x = d.pick()
    if x is None:
        return None
    shape = d.shape(x)
    ones = [a for a, n in enumerate(shape) if n == 1]
    if ones and name == "squeeze":
        axis = d.choice([None, d.choice(ones)])
        return Step("squeeze", (Ref(x),), (("axis", axis),), op="squeeze")
    axis = int(d.rng.integers(-len(shape) - 1, len(shape) + 1))
    return Step("expand_dims", (Ref(x), axis), op="expand_dims")


@rule("broadcast_to", "broadcast_like")
def _broadcast(d: Draw, name: str) -> Step | None:
    x = d.pick()
    if x is None:
        return None
    shape = d.shape(x)
    target = [int(d.rng.integers(2, 4)) if n == 1 and d.rng.random() < 0.6 else n for n in shape]
    target = [int(d.rng.integers(1, 4)) for _ in range(int(d.rng.integers(0, 2)))] + target
    if name == "broadcast_like":
        ref = d.operand(target)
        return Step("broadcast_like", (Ref(x), Ref(ref)), op="broadcast_like")
    return Step("broadcast_to", (Ref(x), tuple(target)), op="broadcast_to")


def _random_slice(d: Draw, n: int) -> slice:
    def bound() -> int | None:
        return None if d.rng.random() < 0.4 else int(d.rng.integers(-n - 1, n + 2))

    step = d.choice((None, 1, 2, -1, -2, 3))
    return slice(bound(), bound(), step)


@rule("slice_axes")
def _slice(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: len(d.shape(i)) > 0)
    if x is None:
        return None
    shape = d.shape(x)
    if d.rng.random() < 0.2:
        axis = int(d.rng.integers(len(shape)))
        return Step("flip", (Ref(x),), (("axis", axis),), op="slice_axes")
    slices = tuple(_random_slice(d, n) for n in shape[: int(d.rng.integers(1, len(shape) + 1))])
    return Step("slice_axes", (Ref(x), slices), op="slice_axes")


@rule("concatenate")
def _concatenate(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: len(d.shape(i)) > 0)
    if x is None:
        return None
    shape = d.shape(x)
    axis = int(d.rng.integers(len(shape)))
    stack = d.rng.random() < 0.25
    parts = [Ref(x)]
    for _ in range(int(d.rng.integers(1, 3))):
        other = list(shape)
        if not stack and d.rng.random() < 0.5:
            other[axis] = int(d.rng.integers(1, 4))
        parts.append(Ref(d.operand(other)))
    if stack:
        return Step("stack", (parts,), (("axis", axis),), op="concatenate")
    return Step("concatenate", (parts,), (("axis", axis),), op="concatenate")


@rule("pad")
def _pad(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: len(d.shape(i)) > 0)
    if x is None:
        return None
    widths = tuple(tuple(int(w) for w in d.rng.integers(0, 3, 2)) for _ in d.shape(x))
    return Step("pad", (Ref(x), widths), (("constant_values", d.choice(SCALARS)),), op="pad")


def _indices(d: Draw, n: int, shape: tuple[int, ...]) -> Any:
    """Indices in [-n, n): a literal array, or (half the time) a new int64 input leaf."""
    idx = d.rng.integers(-n, n, shape).astype(np.int64)
    if d.rng.random() < 0.5:
        return idx
    return Ref(d.leaf(shape, "int64", value=idx))


@rule("take", "add_at")
def _take(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: len(d.shape(i)) > 0 and 0 not in d.shape(i))
    if x is None:
        return None
    shape = d.shape(x)
    axis = int(d.rng.integers(len(shape)))
    idx_shape = tuple(int(k) for k in d.rng.integers(1, 4, int(d.rng.integers(0, 3))))
    idx = _indices(d, shape[axis], idx_shape)
    if name == "take":
        if d.rng.random() < 0.2 and len(shape) > 1:
            return Step("take", (Ref(x), idx), op="take")  # the flattened array
        return Step("take", (Ref(x), idx), (("axis", axis),), op="take")
    values = d.operand(shape[:axis] + idx_shape + shape[axis + 1 :])
    return Step("add_at", (Ref(x), idx, Ref(values)), (("axis", axis),), op="add_at")


@rule("take_along_axis", "add_along_axis")
def _take_along(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: len(d.shape(i)) > 0 and 0 not in d.shape(i))
    if x is None:
        return None
    shape = d.shape(x)
    axis = int(d.rng.integers(len(shape)))
    idx_shape = tuple(
        int(d.rng.integers(1, 4)) if a == axis else (1 if d.rng.random() < 0.3 else n)
        for a, n in enumerate(shape)
    )
    idx = _indices(d, shape[axis], idx_shape)
    if name == "take_along_axis":
        return Step("take_along_axis", (Ref(x), idx), (("axis", axis),), op="take_along_axis")
    out = tuple(k if a == axis else n for a, (k, n) in enumerate(zip(idx_shape, shape)))
    values = d.operand(out)
    return Step("add_along_axis", (Ref(x), idx, Ref(values), axis), op="add_along_axis")


@rule("matmul")
def _matmul(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: len(d.shape(i)) > 0)
    if x is None:
        return None
    shape = d.shape(x)
    k = shape[-1]
    if d.rng.random() < 0.3:
        other: list[int] = [k]
    else:
        batch = list(shape[:-2]) if len(shape) > 2 and d.rng.random() < 0.5 else []
        other = [*batch, k, int(d.rng.integers(1, 4))]
    y = d.operand(other)
    args = (Ref(x), Ref(y))
    if len(other) == 1 and d.rng.random() < 0.5:
        args = (Ref(y), Ref(x)) if len(shape) == 1 else args
    return Step("matmul", args, op="matmul")


@rule("einsum")
def _einsum(d: Draw, name: str) -> Step | None:
    x = d.pick(lambda i: 0 < len(d.shape(i)) <= 3)
    if x is None:
        return None
    shape = d.shape(x)
    letters = "ijkl"[: len(shape)]
    sizes = dict(zip(letters, shape))
    operands = [Ref(x)]
    subscripts = [letters]
    if d.rng.random() < 0.6:
        shared = [c for c in letters if d.rng.random() < 0.6]
        new = "mn"[: int(d.rng.integers(0, 2 if shared else 3))] or "m"
        for c in new:
            sizes[c] = int(d.rng.integers(1, 4))
        ys = list(shared + list(new))
        d.rng.shuffle(ys)
        operands.append(Ref(d.operand([sizes[c] for c in ys])))
        subscripts.append("".join(ys))
    every = sorted(set("".join(subscripts)))
    out = [c for c in every if d.rng.random() < 0.5]
    d.rng.shuffle(out)
    spec = ",".join(subscripts) + "->" + "".join(out)
    return Step("einsum", (spec, *operands), op="einsum")


def uncovered() -> list[str]:
    """Registry ops the fuzzer neither generates nor excludes with a reason."""
    return sorted(set(OPS) - set(RULES) - set(EXCLUDED))


# --------------------------------------------------------------------------------------------------
# programs

LEAF_SHAPES = ((), (1,), (3,), (2, 1), (1, 3), (2, 3), (3, 2), (2, 1, 3), (2, 2, 2))


def generate(seed: int, max_steps: int = 10) -> Program:
    """A random program: 1-3 input leaves and 0-2 variables, up to ``max_steps`` steps (depth at
    most 8), 1-3 outputs, and updates of most variables."""
    rng = np.random.default_rng(seed)
    d = Draw(rng)
    for _ in range(int(rng.integers(1, 4))):
        d.leaf(d.choice(LEAF_SHAPES))
    variables = [
        d.leaf(d.choice(LEAF_SHAPES), is_variable=True) for _ in range(int(rng.integers(0, 3)))
    ]
    names = sorted(RULES)
    target = int(rng.integers(2, max_steps + 1))
    for _ in range(target * 6):
        if sum(isinstance(it, Step) for it in d.items) >= target:
            break
        name = d.choice(names)
        step = RULES[name](d, name)
        if step is not None:
            d.add(step)
    steps = [i for i, it in enumerate(d.items) if isinstance(it, Step)]
    if not steps:
        d.add(Step("negative", (Ref(0),), op="negative"))
        steps = [len(d.items) - 1]
    used = {r for it in d.items if isinstance(it, Step) for r in it.refs()}
    sinks = [i for i in steps if i not in used] or steps
    n_out = min(len(sinks), int(rng.integers(1, 4)))
    outputs = [int(i) for i in rng.choice(sinks, n_out, replace=False)]
    if rng.random() < 0.1:
        outputs.append(int(rng.integers(len(d.items))))  # a leaf or a used value, as is
    updates = []
    for v in variables:
        same = [
            i
            for i in steps
            if d.shape(i) == d.shape(v) and np.can_cast(d.dtype(i), d.dtype(v), casting="same_kind")
        ]
        if same and rng.random() < 0.8:
            updates.append((v, int(d.choice(same))))
    program = Program(tuple(d.items), tuple(outputs), tuple(updates), seed=seed)
    return with_dynamic_dims(program, rng)


def with_dynamic_dims(program: Program, rng: np.random.Generator) -> Program:
    """Declare some dims (> 1) of some input leaves None, where the graph still builds."""
    items = list(program.items)
    for i, item in enumerate(items):
        if isinstance(item, Leaf) and not item.is_variable and rng.random() < 0.5:
            flags = tuple(bool(n > 1 and rng.random() < 0.5) for n in item.value.shape)
            items[i] = Leaf(item.name, item.value, flags, item.is_variable)
    candidate = program.with_items(items)
    try:
        build_graph(candidate)
    except BUILD_ERRORS:
        return program
    return candidate
