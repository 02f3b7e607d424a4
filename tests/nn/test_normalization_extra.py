"""InstanceNorm1d/2d/3d, RMSNorm, LocalResponseNorm and BatchNorm3d (and F.rms_norm,
F.local_response_norm) against PyTorch: values and gradients eagerly, a compiled graph against
eager, running statistics eagerly and in compiled training steps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as F  # noqa: N812 - PyTorch's spelling
from tests.nn.torch_oracle import compare

torch = pytest.importorskip("torch", reason="torch is not installed: no reference to compare with")


def _x(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(1.0, 2.0, size=shape)


def _randomise(ref: Any, seed: int = 1) -> None:
    """Weights and running statistics away from their initial ones and 0."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, t in [*ref.named_parameters(), *ref.named_buffers()]:
            if t.dtype == torch.float64:
                values = rng.uniform(0.5, 1.5, size=tuple(t.shape))
                t.copy_(torch.tensor(values if "var" in name else values - 1.0))


INSTANCE: list[tuple[str, dict[str, Any], tuple[int, ...], bool]] = [
    ("InstanceNorm1d", {}, (2, 3, 5), True),
    ("InstanceNorm1d", {"affine": True}, (3, 5), True),
    ("InstanceNorm2d", {"affine": True, "eps": 1e-3}, (2, 3, 4, 5), True),
    ("InstanceNorm2d", {"track_running_stats": True, "momentum": 0.3}, (2, 3, 4, 5), True),
    ("InstanceNorm2d", {"track_running_stats": True, "affine": True}, (2, 3, 4, 5), False),
    ("InstanceNorm3d", {"affine": True}, (2, 3, 2, 3, 4), True),
    ("InstanceNorm3d", {"track_running_stats": True}, (3, 2, 3, 4), False),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "shape", "training"), INSTANCE, ids=[f"{n}{k}{s}" for n, k, s, _ in INSTANCE]
)
def test_instance_norm_matches_torch(
    name: str, kwargs: dict[str, Any], shape: tuple[int, ...], training: bool
) -> None:
    mod, ref = getattr(gj.nn, name)(3, **kwargs), getattr(torch.nn, name)(3, **kwargs).double()
    _randomise(ref)
    mod.train(training), ref.train(training)
    compare(mod, ref, [_x(shape)])
    for key, value in ref.state_dict().items():  # the running statistics moved alike
        np.testing.assert_allclose(mod.state_dict()[key], value.numpy(), rtol=1e-12, err_msg=key)


def test_instance_norm_running_statistics_in_a_compiled_training_step() -> None:
    eager, compiled = gj.nn.InstanceNorm1d(3, track_running_stats=True), None
    compiled = gj.nn.InstanceNorm1d(3, track_running_stats=True)
    ref = torch.nn.InstanceNorm1d(3, track_running_stats=True).double()
    xs = gj.placeholder("x", shape=(None, 3, 6))
    out = compiled(xs)
    updates = compiled.buffer_updates(out)
    assert len(updates) == 2  # running_mean and running_var; the batch count stays
    step = gj.compile([xs], [out], updates=updates, backend="cpu")
    for seed, n in ((0, 2), (1, 5)):
        x = _x((n, 3, 6), seed)
        (got,) = step(x)
        np.testing.assert_allclose(got, eager(gj.tensor(x)).numpy(), rtol=1e-12)
        ref(torch.tensor(x))
    for key, value in ref.state_dict().items():
        np.testing.assert_allclose(compiled.state_dict()[key], value.numpy(), rtol=1e-12)
        np.testing.assert_allclose(eager.state_dict()[key], value.numpy(), rtol=1e-12)
    compiled.eval()
    x = _x((2, 3, 6), 3)
    f = gj.compile([xs], [compiled(xs)], backend="cpu")
    np.testing.assert_allclose(f(x)[0], ref.eval()(torch.tensor(x)).numpy(), rtol=1e-12)


def test_instance_norm_names_the_layer_and_the_expected_shape() -> None:
    with pytest.raises(ValueError, match=r"InstanceNorm2d\(3, .*\): expected a 3-d \(unbatched"):
        gj.nn.InstanceNorm2d(3)(gj.zeros(2, 3))
    with pytest.raises(ValueError, match=r"InstanceNorm1d\(4, .*\): expected 4 channels \(dim 1\)"):
        gj.nn.InstanceNorm1d(4, affine=True)(gj.zeros(2, 3, 5))


def test_batch_norm_3d_matches_torch_in_training_and_evaluation() -> None:
    mod, ref = gj.nn.BatchNorm3d(3, momentum=0.2), torch.nn.BatchNorm3d(3, momentum=0.2).double()
    _randomise(ref)
    compare(mod, ref, [_x((2, 3, 2, 3, 2))])
    for key, value in ref.state_dict().items():
        np.testing.assert_allclose(mod.state_dict()[key], value.numpy(), rtol=1e-12, err_msg=key)
    mod.eval(), ref.eval()
    compare(mod, ref, [_x((2, 3, 2, 3, 2), 1)])
    with pytest.raises(ValueError, match="BatchNorm3d: expected a 5-d input"):
        mod(gj.zeros(2, 3, 4, 4))


RMS: list[tuple[Any, dict[str, Any], tuple[int, ...]]] = [
    (5, {}, (2, 3, 5)),
    ((3, 5), {"eps": 1e-3}, (2, 3, 5)),
    (5, {"elementwise_affine": False}, (4, 5)),
]


@pytest.mark.parametrize(("shape", "kwargs", "x_shape"), RMS, ids=[str(r) for r in RMS])
def test_rms_norm_matches_torch(
    shape: Any, kwargs: dict[str, Any], x_shape: tuple[int, ...]
) -> None:
    mod, ref = gj.nn.RMSNorm(shape, **kwargs), torch.nn.RMSNorm(shape, **kwargs).double()
    _randomise(ref)
    compare(mod, ref, [_x(x_shape)])
    assert repr(mod) == repr(ref)
    compare(
        lambda x, w: F.rms_norm(x, (5,), w, 1e-4),
        lambda x, w: torch.nn.functional.rms_norm(x, (5,), w, 1e-4),
        [_x((3, 5)), _x((5,), 2)],
    )


def test_rms_norm_names_the_layer_and_the_expected_shape() -> None:
    with pytest.raises(
        ValueError, match=r"RMSNorm\(\(4,\), .*\): expected an input of shape \(\*, 4\)"
    ):
        gj.nn.RMSNorm(4)(gj.zeros(2, 3))
    with pytest.raises(ValueError, match="rms_norm: normalized_shape"):
        F.rms_norm(gj.zeros(2, 3), (2,))


@pytest.mark.parametrize(
    ("size", "kwargs", "shape"),
    [
        (3, {}, (2, 5, 4)),
        (2, {"alpha": 0.1, "beta": 0.5, "k": 2.0}, (2, 6, 3, 4)),
        (5, {}, (1, 3, 2, 2, 2)),
    ],
)
def test_local_response_norm_matches_torch(
    size: int, kwargs: dict[str, Any], shape: tuple[int, ...]
) -> None:
    mod, ref = gj.nn.LocalResponseNorm(size, **kwargs), torch.nn.LocalResponseNorm(size, **kwargs)
    compare(mod, ref, [_x(shape)])
    assert repr(mod) == repr(ref)
    with pytest.raises(ValueError, match=r"local_response_norm: expected an input \(N, C, \*\)"):
        mod(gj.zeros(2, 3))
