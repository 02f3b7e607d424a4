"""gj.nn.functional without a peer: dropout's modes and seeding, batch_norm's running statistics,
one_hot, and a few values against numpy formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as gjF  # noqa: N812 - PyTorch's spelling


def test_dropout_masks_scale_and_follow_the_seed() -> None:
    x = gj.tensor(np.ones((200, 50)), requires_grad=True)
    gj.manual_seed(3)
    a = gjF.dropout(x, p=0.25)
    gj.manual_seed(3)
    b = gjF.dropout(x, p=0.25)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    kept = a.numpy() != 0
    np.testing.assert_allclose(a.numpy()[kept], 1.0 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.02
    a.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a.numpy())  # the mask times the scale


def test_dropout_is_the_identity_in_eval_and_zero_at_p_one() -> None:
    x = gj.tensor(np.arange(6.0))
    np.testing.assert_array_equal(gjF.dropout(x, 0.5, training=False).numpy(), np.arange(6.0))
    np.testing.assert_array_equal(gjF.dropout(x, 1.0).numpy(), np.zeros(6))
    with pytest.raises(ValueError, match="p must be in"):
        gjF.dropout(x, 1.5)


def test_dropout_on_graphs_is_the_identity_in_eval_and_draws_in_training() -> None:
    xs = gj.placeholder("x", shape=(None, 3))
    assert gjF.dropout(xs, 0.5, training=False) is xs
    drawn = gjF.dropout(xs, 0.5)
    assert any(n.op.name == "counter_uniform" for n in gj.ir.toposort([drawn]))


def test_batch_norm_updates_running_stats_in_place_as_pytorch() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3, 4))
    mean = gj.zeros(3)
    var = np.ones(3)
    out = gjF.batch_norm(gj.tensor(x), mean, var, training=True, momentum=0.2)
    batch_mean = x.mean(axis=(0, 2))
    unbiased = x.var(axis=(0, 2), ddof=1)
    np.testing.assert_allclose(mean.numpy(), 0.2 * batch_mean, rtol=1e-13)
    np.testing.assert_allclose(var, 0.8 + 0.2 * unbiased, rtol=1e-13)
    want = (x - batch_mean[:, None]) / np.sqrt(x.var(axis=(0, 2))[:, None] + 1e-5)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)
    # evaluation reads the running statistics and leaves them alone
    before = var.copy()
    ev = gjF.batch_norm(gj.tensor(x), mean, var)
    np.testing.assert_allclose(
        ev.numpy(), (x - mean.numpy()[:, None]) / np.sqrt(var[:, None] + 1e-5), rtol=1e-12
    )
    np.testing.assert_array_equal(var, before)


def test_batch_norm_on_graphs_refuses_running_updates_in_training() -> None:
    xs = gj.placeholder("x", shape=(4, 3))
    with pytest.raises(NotImplementedError, match="running_mean=None"):
        gjF.batch_norm(xs, np.zeros(3), np.ones(3), training=True)


def test_one_hot_eager_infers_classes_and_graph_needs_them() -> None:
    got = gjF.one_hot(gj.tensor([0, 2, 1]))
    np.testing.assert_array_equal(got.numpy(), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert got.dtype == "int64"
    np.testing.assert_array_equal(gjF.one_hot(gj.tensor([1]), 4).numpy(), [[0, 1, 0, 0]])
    with pytest.raises(ValueError, match="num_classes"):
        gjF.one_hot(gj.placeholder("i", shape=(3,), dtype="int64"))


def test_one_hot_refuses_classes_out_of_range(backend: str) -> None:
    # a negative class used to give a row of zeros, and so did one past the end
    for bad, value in (([0, -1], -1), ([3, 0], 3)):
        with pytest.raises(
            IndexError, match=rf"one_hot: index {value} is out of bounds for 3 classes"
        ):
            gjF.one_hot(gj.tensor(bad), 3)
    i = gj.placeholder("i", shape=(None,), dtype="int64")
    f = gj.compile([i], gjF.one_hot(i, 3), backend=backend)
    np.testing.assert_array_equal(f(np.array([2, 0])), [[0, 0, 1], [1, 0, 0]])
    for bad, message in (
        ([0, -1], "a negative index is out of bounds for axis 0 with size 3"),
        ([3, 0], "index 3 is out of bounds for axis 0 with size 3"),
    ):
        with pytest.raises(IndexError, match=rf"take: {message}"):
            f(np.array(bad))


def test_negative_class_targets_raise_instead_of_counting_from_the_end(backend: str) -> None:
    # numpy's negative indices made target -1 the last class: a silently wrong loss
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    for loss in (gjF.cross_entropy, gjF.nll_loss):
        with pytest.raises(IndexError, match=r"index -1 is out of bounds for 3 classes"):
            loss(gj.tensor(logits), gj.tensor([0, -1]))
        ignored = loss(gj.tensor(logits), gj.tensor([0, -100]))  # ignore_index still counts
        np.testing.assert_allclose(
            ignored.numpy(), loss(gj.tensor(logits[:1]), gj.tensor([0])).numpy()
        )
    for classes in (3, None):  # a class count fixed when built, or known only at run time
        x = gj.placeholder("x", shape=(None, classes))
        t = gj.placeholder("t", shape=(None,), dtype="int64")
        f = gj.compile([x, t], gjF.cross_entropy(x, t), backend=backend)
        want = -(logits[0, 0] - np.log(np.exp(logits[0]).sum()))
        np.testing.assert_allclose(f(logits, np.array([0, -100])), want, rtol=1e-12)
        with pytest.raises(
            IndexError,
            match=r"take_along_axis: a negative index is out of bounds for axis 1 with size 3 "
            r"\(these indices must be in \[0, 3\)\)",
        ):
            f(logits, np.array([0, -1]))
        with pytest.raises(
            IndexError, match=r"take_along_axis: index 7 is out of bounds for axis 1 with size 3"
        ):
            f(logits, np.array([0, 7]))


def test_embedding_refuses_negative_rows(backend: str) -> None:
    # a negative row counted from the end, as numpy's take does, where PyTorch raises
    emb = gj.nn.Embedding(3, 2)
    with pytest.raises(IndexError, match=r"embedding: index -1 is out of bounds for 3 embeddings"):
        emb(gj.tensor([0, -1]))
    i = gj.placeholder("i", shape=(None,), dtype="int64")
    f = gj.compile([i], emb(i), backend=backend)
    np.testing.assert_array_equal(f(np.array([2])), emb.weight.detach().numpy()[[2]])
    with pytest.raises(IndexError, match="take: a negative index is out of bounds for axis 0"):
        f(np.array([-1]))


def test_gelu_and_selu_match_their_formulas() -> None:
    x = np.linspace(-4, 4, 17)
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(
        gjF.gelu(gj.tensor(x)).numpy(), 0.5 * x * (1 + erf(x / math.sqrt(2))), rtol=1e-14
    )
    selu = 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x))
    np.testing.assert_allclose(gjF.selu(gj.tensor(x)).numpy(), selu, rtol=1e-14)


def test_elu_gradient_is_finite_for_huge_inputs() -> None:
    x = gj.tensor([1000.0, -1000.0], requires_grad=True)
    gjF.elu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0])


def test_cross_entropy_mean_over_ignored_targets_matches_a_hand_count() -> None:
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5], [1.0, -2.0, 3.0]])
    labels = np.array([0, -100, 2])
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    want = -(logp[0, 0] + logp[2, 2]) / 2
    got = gjF.cross_entropy(gj.tensor(logits), gj.tensor(labels))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-14)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_a_mean_over_only_ignored_targets_is_nan_with_a_zero_gradient(smoothing: float) -> None:
    logits = gj.tensor(
        np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]], np.float32), requires_grad=True
    )
    labels = gj.tensor(np.array([-100, -100]))
    loss = gjF.cross_entropy(logits, labels, label_smoothing=smoothing)
    assert loss.dtype == "float32" and np.isnan(loss.item())  # 0 / 0, as PyTorch's
    loss.backward()
    np.testing.assert_array_equal(logits.grad.numpy(), np.zeros((2, 3)))  # PyTorch's, not NaN
    logp = gj.tensor(np.log(np.full((2, 3), 1 / 3)), requires_grad=True)
    gjF.nll_loss(logp, labels).backward()
    np.testing.assert_array_equal(logp.grad.numpy(), np.zeros((2, 3)))


def test_losses_reject_unknown_reductions_and_bad_shapes() -> None:
    x = gj.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="reduction"):
        gjF.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="differ"):
        gjF.l1_loss(x, gj.tensor(np.zeros((3, 2))))
    with pytest.raises(TypeError, match="integers"):
        gjF.nll_loss(x, gj.tensor(np.zeros(2)))


@pytest.mark.parametrize(
    "name", ["gelu", "selu", "mish", "softplus", "hardswish", "logsigmoid", "glu", "layer_norm"]
)
def test_float32_inputs_stay_float32_eagerly_and_on_graphs(name: str) -> None:
    def fn(x: object) -> object:
        return gjF.layer_norm(x, (6,)) if name == "layer_norm" else getattr(gjF, name)(x)

    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    assert fn(gj.tensor(x)).dtype == "float32"
    assert fn(gj.placeholder("x", shape=(None, 6), dtype="float32")).dtype == "float32"


def test_legacy_size_average_and_reduce_are_read_as_pytorch() -> None:
    x, t = gj.tensor([1.0, 3.0]), gj.tensor([0.0, 0.0])
    assert gjF.mse_loss(x, t, size_average=False).item() == 10.0
    assert gjF.mse_loss(x, t, reduce=False).numpy().tolist() == [1.0, 9.0]
    assert gjF.mse_loss(x, t).item() == 5.0
