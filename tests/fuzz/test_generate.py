"""graphjit.fuzz.generate and .rules: every registry op is generated or excluded with a reason,
and the programs drawn from a seed are well typed and reproducible."""

from __future__ import annotations

import graphjit as gj
from graphjit import ir, ops
from graphjit.fuzz.draw import MAX_DEPTH
from graphjit.fuzz.generate import generate
from graphjit.fuzz.program import SHADOWED, Leaf, Step, build_graph, graph_source
from graphjit.fuzz.rules import EXCLUDED, RULES, uncovered
from graphjit.ops import OPS


def test_every_op_is_generated_or_excluded_with_a_reason() -> None:
    assert uncovered() == []


def test_the_excluded_ops_are_exactly_these() -> None:
    # a new op is either given a rule (elementwise ops get one from their OpDef) or added here
    assert sorted(EXCLUDED) == [
        "adaptive_avg_pool",
        "adaptive_avg_pool_grad",
        "adaptive_max_pool",
        "adaptive_max_pool_indices",
        "avg_pool",
        "avg_pool_grad",
        "concatenate_part",
        "constant",
        "conv",
        "conv_input_grad",
        "conv_weight_grad",
        "counter_uniform",
        "cumargmax",
        "cumargmin",
        "diagonal_grad",
        "max_pool",
        "max_pool_indices",
        "placeholder",
        "pool_gather",
        "pool_scatter",
        "resample",
        "resample_grad",
        "searchsorted",
        "slice_axes_grad",
        "variable",
    ]
    assert set(EXCLUDED) <= set(OPS)
    assert not set(EXCLUDED) & set(RULES)


def test_programs_exercise_every_rule_and_stay_within_depth() -> None:
    seen: set[str] = set()
    for seed in range(150):
        program = generate(seed)
        graph = build_graph(program)
        seen |= {n.op.name for n in ir.toposort([*graph.outputs, *graph.updates.values()])}
        depth: list[int] = []
        for item in program.items:
            refs = item.refs() if isinstance(item, Step) else []
            depth.append(1 + max((depth[r] for r in refs), default=0) if refs else 0)
        assert max(depth) <= MAX_DEPTH
        assert program.outputs
    assert sorted(set(RULES) - seen) == []


def test_generation_is_reproducible_from_the_seed() -> None:
    for seed in (0, 7, 123):
        assert graph_source(generate(seed)) == graph_source(generate(seed))
    assert graph_source(generate(1)) != graph_source(generate(2))


def test_programs_mix_dtypes_dynamic_dims_and_variables_with_updates() -> None:
    programs = [generate(seed) for seed in range(60)]
    leaves = [leaf for p in programs for _, leaf in p.leaves()]
    assert {str(leaf.value.dtype) for leaf in leaves} >= {"float64", "float32", "int64", "int32"}
    assert any(any(leaf.dynamic) for leaf in leaves)
    assert any(p.updates for p in programs)
    assert any(len(p.outputs) > 1 for p in programs)
    assert all(
        isinstance(p.items[v], Leaf) and p.items[v].is_variable
        for p in programs
        for v, _ in p.updates
    )


def test_shadowed_names_are_the_ones_gj_spells_differently() -> None:
    differ = {name for name in ops.__all__ if getattr(gj, name) is not getattr(ops, name)}
    assert differ == SHADOWED
