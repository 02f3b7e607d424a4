"""The fuzzer's rules: one per registry op, drawing a :class:`~graphjit.fuzz.program.Step` that
applies the op to values the program already has (and, when no value fits, to a new input leaf of a
shape that does). Elementwise ops get theirs from their OpDef (arity from the scalar template, the
public function of the op's name); every other op has a rule in :data:`RULES` or a reason in
:data:`EXCLUDED`. ``uncovered()`` lists the ops with neither, which a test keeps empty: a new op is
generated or consciously left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from graphjit import ops
from graphjit.fuzz.draw import SCALARS, Draw
from graphjit.fuzz.program import Ref, Step
from graphjit.ops import OPS

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


@rule("copysign", "signbit")
def _sign_reader(d: Draw, name: str) -> Step | None:
    """An op reading the sign of its (second) argument, which reaches it through nan_to_num:
    IEEE 754 leaves the sign of the NaN an invalid operation makes unspecified (numpy's libm
    gives x86's negative one, arcsin(2) in the cpu kernels a positive one), so the backends
    would disagree on nothing but that."""
    x = d.pick()
    if x is None or not d.add(Step("nan_to_num", (Ref(x),), op="isnan")):
        return None
    sign = len(d.items) - 1
    if name == "signbit":
        return Step(name, (Ref(sign),), op=name)
    return Step(name, (_broadcast_partner(d, d.shape(sign)), Ref(sign)), op=name)


def _integer_value(d: Draw) -> int | None:
    """A value of an integer dtype: one the program has, or another cast to int64."""
    x = d.pick(lambda i: d.dtype(i) in ("int64", "int32"))
    if x is not None:
        return x
    x = d.pick()
    if x is None or not d.add(Step("astype", (Ref(x), "int64"), op="astype")):
        return None
    return len(d.items) - 1


@rule("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "left_shift", "right_shift")
def _bitwise(d: Draw, name: str) -> Step | None:
    """An integer value (the bitwise ops refuse floats, and bools go to the logical ops) with an
    integer partner: a value of its dtype that broadcasts, a new leaf, or a python int (a shift
    count from -1 to 4: a negative one shifts every bit out, as in numpy)."""
    x = _integer_value(d)
    if x is None:
        return None
    if name == "bitwise_not":
        return Step(name, (Ref(x),), op=name)
    shape, dtype = d.shape(x), d.dtype(x)
    r = d.rng.random()
    if r < 0.3:
        other: Any = int(d.rng.integers(-1, 5))
    else:

        def fits(i: int) -> bool:
            try:
                np.broadcast_shapes(shape, d.shape(i))
            except ValueError:
                return False
            return d.dtype(i) == dtype

        found = d.pick(fits) if r < 0.6 else None
        other = Ref(found if found is not None else d.leaf(shape[1:], dtype=dtype))
    args = (Ref(x), other) if d.rng.random() < 0.8 else (other, Ref(x))
    return Step(name, args, op=name)


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
