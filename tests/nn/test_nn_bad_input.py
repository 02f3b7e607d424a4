"""Bad input to gj.nn layers and gj.nn.functional, with PyTorch as the oracle: where PyTorch
raises, graphjit raises a clear exception naming the layer or function (eagerly, and when a graph
is built from placeholders of the same shapes); where PyTorch returns, graphjit returns the same
values and gradients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import pytest

import graphjit as gj
from tests.nn.torch_oracle import compare

torch = pytest.importorskip("torch", reason="torch is not installed: no reference to compare with")


class Lib(NamedTuple):
    """One library's ``nn``, ``nn.functional`` and a maker of its inputs from numpy arrays."""

    nn: Any
    F: Any
    T: Callable[[Any], Any]


TORCH = Lib(torch.nn, torch.nn.functional, lambda a: torch.tensor(np.asarray(a)))
GJ = Lib(gj.nn, gj.nn.functional, lambda a: gj.tensor(np.asarray(a)))


def graph_lib() -> Lib:
    """gj whose inputs are placeholders of the arrays' shapes and dtypes."""
    count = iter(range(1000))

    def placeholder(a: Any) -> Any:
        a = np.asarray(a)
        return gj.placeholder(f"x{next(count)}", shape=a.shape, dtype=str(a.dtype))

    return Lib(gj.nn, gj.nn.functional, placeholder)


@pytest.fixture(autouse=True)
def _float64_modules() -> Iterator[None]:
    """PyTorch modules in float64, as graphjit's (else torch refuses for the dtype alone)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _r(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape) * 7 + len(shape)).normal(size=shape)


def _i(*values: Any) -> np.ndarray:
    return np.array(values, dtype=np.int64)


X1, X2, X3 = _r(2, 3, 5), _r(2, 3, 5, 5), _r(1, 2, 4, 4, 4)
LOGITS, LABELS, PROBS = _r(4, 3), _i(0, 2, 1, 2), np.abs(_r(4, 3)) / 3
P = pytest.param

# (call, exception graphjit raises, pattern its message matches); PyTorch raises for each too.
# The problem shows in the shapes and arguments alone, so a graph raises while it is built.
SHAPE_ERRORS = [
    # pooling: rank, window sizes, padding, channels
    P(
        lambda lib: lib.F.max_pool2d(lib.T(X3), 2),
        ValueError,
        "max_pool2d: expected a 3-d",
        id="maxpool2d-5d",
    ),
    P(
        lambda lib: lib.nn.MaxPool1d(2)(lib.T(X2)),
        ValueError,
        "max_pool1d: expected a 2-d",
        id="MaxPool1d-4d",
    ),
    P(
        lambda lib: lib.F.max_pool3d(lib.T(X1), 2),
        ValueError,
        "max_pool3d: expected a 4-d",
        id="maxpool3d-3d",
    ),
    P(
        lambda lib: lib.F.max_pool2d(lib.T(X2), 0),
        ValueError,
        "max_pool2d: kernel_size must be greater than zero",
        id="maxpool2d-k0",
    ),
    P(
        lambda lib: lib.F.max_pool2d(lib.T(X2), 2, 0),
        ValueError,
        "max_pool2d: stride must be greater than zero",
        id="maxpool2d-s0",
    ),
    P(
        lambda lib: lib.F.max_pool2d(lib.T(X2), 2, 1, 0, 0),
        ValueError,
        "max_pool2d: dilation must be greater",
        id="maxpool2d-d0",
    ),
    P(
        lambda lib: lib.F.max_pool2d(lib.T(X2), 2, 1, -1),
        ValueError,
        "max_pool2d: padding should be non-negative",
        id="maxpool2d-pad-neg",
    ),
    P(
        lambda lib: lib.F.max_pool2d(lib.T(X2), 2, 1, 2),
        ValueError,
        "max_pool2d: padding should be .* at most half",
        id="maxpool2d-pad-big",
    ),
    P(
        lambda lib: lib.F.max_pool2d(lib.T(X2), 6),
        ValueError,
        r"max_pool2d: the input of shape \(2, 3, 5, 5\) is too small",
        id="maxpool2d-k-too-big",
    ),
    P(
        lambda lib: lib.F.max_pool2d(lib.T(X2), 2, 1, 0, 5),
        ValueError,
        "max_pool2d: .* too small",
        id="maxpool2d-dilation-too-big",
    ),
    P(
        lambda lib: lib.F.max_pool1d(lib.T(X1), 6),
        ValueError,
        "max_pool1d: .* too small",
        id="maxpool1d-k-too-big",
    ),
    P(
        lambda lib: lib.nn.MaxPool3d(5)(lib.T(X3)),
        ValueError,
        "max_pool3d: .* too small",
        id="MaxPool3d-k-too-big",
    ),
    P(
        lambda lib: lib.F.max_pool2d(lib.T(_r(2, 0, 4, 4)), 2),
        ValueError,
        "max_pool2d: the input has no channels",
        id="maxpool2d-no-channels",
    ),
    P(
        lambda lib: lib.F.max_pool2d(lib.T(X2), 2.0),
        TypeError,
        "max_pool2d: kernel_size must be an int",
        id="maxpool2d-float-kernel",
    ),
    P(
        lambda lib: lib.F.avg_pool2d(lib.T(X2), 6),
        ValueError,
        "avg_pool2d: .* too small",
        id="avgpool2d-k-too-big",
    ),
    P(
        lambda lib: lib.F.avg_pool1d(lib.T(X1), 6),
        ValueError,
        "avg_pool1d: .* too small",
        id="avgpool1d-k-too-big",
    ),
    P(
        lambda lib: lib.nn.AvgPool3d(5)(lib.T(X3)),
        ValueError,
        "avg_pool3d: .* too small",
        id="AvgPool3d-k-too-big",
    ),
    P(
        lambda lib: lib.F.avg_pool2d(lib.T(X2), 2, 1, 2),
        ValueError,
        "avg_pool2d: padding should be",
        id="avgpool2d-pad-big",
    ),
    P(
        lambda lib: lib.F.avg_pool2d(lib.T(X2), 2, divisor_override=0),
        ValueError,
        "avg_pool2d: divisor_override",
        id="avgpool2d-divisor-0",
    ),
    P(
        lambda lib: lib.nn.AvgPool2d(2)(lib.T(X3)),
        ValueError,
        "avg_pool2d: expected a 3-d",
        id="AvgPool2d-5d",
    ),
    P(
        lambda lib: lib.F.lp_pool2d(lib.T(X2), 2, 6),
        ValueError,
        "lp_pool2d: .* too small",
        id="lppool2d-k-too-big",
    ),
    P(
        lambda lib: lib.nn.LPPool3d(2, 5)(lib.T(X3)),
        ValueError,
        "lp_pool3d: .* too small",
        id="LPPool3d-k-too-big",
    ),
    P(
        lambda lib: lib.F.lp_pool2d(lib.T(X2), 0, 2),
        ValueError,
        "lp_pool2d: norm_type",
        id="lppool2d-p0",
    ),
    P(
        lambda lib: lib.F.lp_pool1d(lib.T(X2), 2, 2),
        ValueError,
        "lp_pool1d: expected a 2-d",
        id="lppool1d-4d",
    ),
    P(
        lambda lib: lib.F.adaptive_avg_pool2d(lib.T(X2), -1),
        ValueError,
        "adaptive_avg_pool2d: output_size",
        id="adaptive-avg-neg",
    ),
    P(
        lambda lib: lib.F.adaptive_avg_pool2d(lib.T(X2), 2.5),
        TypeError,
        "adaptive_avg_pool2d: output_size must be an int",
        id="adaptive-avg-float",
    ),
    P(
        lambda lib: lib.nn.AdaptiveMaxPool2d(2)(lib.T(X3)),
        ValueError,
        "adaptive_max_pool2d: expected a 3-d",
        id="AdaptiveMaxPool2d-5d",
    ),
    P(
        lambda lib: lib.F.adaptive_max_pool3d(lib.T(X1), 2),
        ValueError,
        "adaptive_max_pool3d: expected a 4-d",
        id="adaptive-max3d-3d",
    ),
    # padding
    P(
        lambda lib: lib.F.pad(lib.T(X2), (1, 1, 1)),
        ValueError,
        "pad: expected an even number",
        id="pad-odd",
    ),
    P(
        lambda lib: lib.F.pad(lib.T(X1), (5, 5), mode="reflect"),
        ValueError,
        "pad: reflect widths must be < the dim size 5",
        id="pad-reflect-wider-than-input",
    ),
    P(
        lambda lib: lib.F.pad(lib.T(X1), (6, 0), mode="circular"),
        ValueError,
        "pad: circular widths",
        id="pad-circular-wraps-twice",
    ),
    P(
        lambda lib: lib.F.pad(lib.T(X1), (-3, -3), mode="reflect"),
        ValueError,
        r"pad: widths \(-3, -3\) leave nothing",
        id="pad-reflect-crops-all",
    ),
    P(
        lambda lib: lib.F.pad(lib.T(X1), (-3, -2), mode="replicate"),
        ValueError,
        "pad: widths .* leave nothing",
        id="pad-replicate-crops-all",
    ),
    P(
        lambda lib: lib.F.pad(lib.T(X1), (-3, -3), mode="circular"),
        ValueError,
        "pad: widths .* leave nothing",
        id="pad-circular-crops-past-all",
    ),
    P(
        lambda lib: lib.F.pad(lib.T(_r(5)), (1, 1), mode="reflect"),
        ValueError,
        "pad: mode 'reflect' pads 1 dims of a 2-d",
        id="pad-reflect-1d",
    ),
    P(
        lambda lib: lib.F.pad(lib.T(_r(2, 3, 0)), (1, 1), mode="replicate"),
        ValueError,
        "pad: mode 'replicate' cannot pad the empty dim",
        id="pad-replicate-empty",
    ),
    P(
        lambda lib: lib.F.pad(lib.T(X1), (1, 1), mode="wrap"),
        ValueError,
        "pad: mode must be",
        id="pad-bad-mode",
    ),
    P(
        lambda lib: lib.nn.ReflectionPad1d(5)(lib.T(X1)),
        ValueError,
        r"ReflectionPad1d\(\(5, 5\)\): pad: reflect widths",
        id="ReflectionPad1d-wider-than-input",
    ),
    P(
        lambda lib: lib.nn.CircularPad1d(6)(lib.T(X1)),
        ValueError,
        r"CircularPad1d\(\(6, 6\)\): pad: circular",
        id="CircularPad1d-wraps-twice",
    ),
    P(
        lambda lib: lib.nn.ReflectionPad2d(1)(lib.T(X3)),
        ValueError,
        "ReflectionPad2d.*expected a 3-d",
        id="ReflectionPad2d-5d",
    ),
    P(
        lambda lib: lib.nn.ReplicationPad3d(1)(lib.T(X1)),
        ValueError,
        "ReplicationPad3d.*expected a 4-d",
        id="ReplicationPad3d-3d",
    ),
    P(
        lambda lib: lib.nn.ConstantPad1d((1, 2, 3), 1.0)(lib.T(X1)),
        ValueError,
        "ConstantPad1d: padding must be",
        id="ConstantPad1d-3-widths",
    ),
    # shuffles, unfold, fold
    P(
        lambda lib: lib.F.pixel_shuffle(lib.T(_r(1, 3, 2, 2)), 2),
        ValueError,
        "pixel_shuffle: the channels .* divisible by upscale_factor",
        id="pixel_shuffle-channels",
    ),
    P(
        lambda lib: lib.nn.PixelShuffle(0)(lib.T(_r(1, 4, 2, 2))),
        ValueError,
        "pixel_shuffle: upscale_factor must be a positive",
        id="PixelShuffle-0",
    ),
    P(
        lambda lib: lib.F.pixel_shuffle(lib.T(_r(4, 2)), 2),
        ValueError,
        "pixel_shuffle: expected an input",
        id="pixel_shuffle-2d",
    ),
    P(
        lambda lib: lib.F.pixel_unshuffle(lib.T(_r(1, 1, 3, 4)), 2),
        ValueError,
        "pixel_unshuffle: the height and width",
        id="pixel_unshuffle-size",
    ),
    P(
        lambda lib: lib.nn.ChannelShuffle(2)(lib.T(_r(1, 3, 2, 2))),
        ValueError,
        "channel_shuffle: .* divisible by groups=2",
        id="ChannelShuffle-channels",
    ),
    P(
        lambda lib: lib.F.channel_shuffle(lib.T(_r(1, 4, 2, 2)), 0),
        ValueError,
        "channel_shuffle: groups must be a positive",
        id="channel_shuffle-0",
    ),
    P(
        lambda lib: lib.F.unfold(lib.T(X3), 2),
        ValueError,
        "unfold: expected an input",
        id="unfold-5d",
    ),
    P(
        lambda lib: lib.nn.Unfold(6)(lib.T(X2)),
        ValueError,
        "unfold: .* no block fits",
        id="Unfold-kernel-too-big",
    ),
    P(
        lambda lib: lib.F.unfold(lib.T(X2), 2, stride=0),
        ValueError,
        "unfold: stride must be",
        id="unfold-stride-0",
    ),
    P(
        lambda lib: lib.F.unfold(lib.T(_r(1, 0, 4, 4)), 2),
        ValueError,
        "unfold: the input has no channels",
        id="unfold-no-channels",
    ),
    P(
        lambda lib: lib.nn.Fold((4, 4), 2)(lib.T(_r(1, 12, 5))),
        ValueError,
        r"fold: expected L = 9 blocks",
        id="Fold-block-count",
    ),
    P(
        lambda lib: lib.F.fold(lib.T(_r(1, 6, 9)), (4, 4), 2),
        ValueError,
        "fold: .* divisible by the kernel's 4",
        id="fold-channels",
    ),
    P(
        lambda lib: lib.F.fold(lib.T(_r(1, 12, 9)), (1, 1), 2),
        ValueError,
        "fold: .* no block fits",
        id="fold-output-too-small",
    ),
    P(
        lambda lib: lib.F.fold(lib.T(_r(1, 0, 9)), (4, 4), 2),
        ValueError,
        "fold: expected an input",
        id="fold-no-channels",
    ),
    # normalisation
    P(
        lambda lib: lib.nn.GroupNorm(3, 4)(lib.T(X2)),
        ValueError,
        "GroupNorm: num_channels 4 is not divisible",
        id="GroupNorm-groups",
    ),
    P(
        lambda lib: lib.nn.GroupNorm(0, 4),
        ValueError,
        "GroupNorm: num_groups must be a positive int",
        id="GroupNorm-0-groups",
    ),
    P(
        lambda lib: lib.F.group_norm(lib.T(X2), 0),
        ValueError,
        "group_norm: num_groups must be a positive int",
        id="group_norm-0-groups",
    ),
    P(
        lambda lib: lib.nn.GroupNorm(2, 6)(lib.T(_r(2, 4, 3))),
        ValueError,
        r"GroupNorm\(2, 6.*expected an input \(N, 6",
        id="GroupNorm-channels",
    ),
    P(
        lambda lib: lib.F.group_norm(lib.T(_r(2, 4, 3)), 3),
        ValueError,
        "group_norm: .* divisible by num_groups=3",
        id="group_norm-groups",
    ),
    P(
        lambda lib: lib.F.group_norm(lib.T(_r(2, 4, 3)), 2, lib.T(np.ones(3))),
        ValueError,
        r"group_norm: expected weight of shape \(4,\)",
        id="group_norm-weight",
    ),
    P(
        lambda lib: lib.F.group_norm(lib.T(_r(2, 4, 3)), 2, None, lib.T(np.ones(3))),
        ValueError,
        r"group_norm: expected bias of shape \(4,\)",
        id="group_norm-bias",
    ),
    P(
        lambda lib: lib.nn.LayerNorm(4)(lib.T(X1)),
        ValueError,
        r"layer_norm: normalized_shape \(4,\) does not match",
        id="LayerNorm-shape",
    ),
    P(
        lambda lib: lib.F.layer_norm(lib.T(X1), (5,), lib.T(np.ones(4))),
        ValueError,
        r"layer_norm: expected weight of shape \(5,\)",
        id="layer_norm-weight",
    ),
    P(
        lambda lib: lib.nn.RMSNorm((3, 5))(lib.T(_r(2, 4, 5))),
        ValueError,
        r"RMSNorm.*expected an input of shape \(\*, 3, 5\)",
        id="RMSNorm-shape",
    ),
    P(
        lambda lib: lib.F.rms_norm(lib.T(X1), (5,), lib.T(np.ones(4))),
        ValueError,
        r"rms_norm: expected weight of shape \(5,\)",
        id="rms_norm-weight",
    ),
    P(
        lambda lib: lib.nn.LocalResponseNorm(2)(lib.T(_r(3, 4))),
        ValueError,
        "local_response_norm: expected an input",
        id="LocalResponseNorm-2d",
    ),
    P(
        lambda lib: lib.nn.LocalResponseNorm(0)(lib.T(X2)),
        ValueError,
        "local_response_norm: size must be",
        id="LocalResponseNorm-size-0",
    ),
    P(
        lambda lib: lib.nn.InstanceNorm1d(4)(lib.T(X2)),
        ValueError,
        r"InstanceNorm1d\(4.*expected a 2-d",
        id="InstanceNorm1d-4d",
    ),
    P(
        lambda lib: lib.nn.InstanceNorm2d(4, affine=True)(lib.T(X2)),
        ValueError,
        r"InstanceNorm2d\(4.*expected 4 channels",
        id="InstanceNorm2d-channels",
    ),
    P(
        lambda lib: lib.nn.InstanceNorm2d(2, track_running_stats=True)(lib.T(X2)),
        ValueError,
        r"InstanceNorm2d\(2.*expected 2 channels",
        id="InstanceNorm2d-stats-channels",
    ),
    P(
        lambda lib: lib.nn.InstanceNorm1d(3)(lib.T(_r(2, 3, 1))),
        ValueError,
        "instance_norm: expected more than 1 spatial element",
        id="InstanceNorm1d-one-element",
    ),
    P(
        lambda lib: lib.F.instance_norm(lib.T(X2), weight=lib.T(np.ones(2))),
        ValueError,
        r"instance_norm: expected weight of shape \(3,\)",
        id="instance_norm-weight",
    ),
    P(
        lambda lib: lib.nn.BatchNorm3d(3)(lib.T(X2)),
        ValueError,
        "BatchNorm3d: expected a 5-d",
        id="BatchNorm3d-4d",
    ),
    P(
        lambda lib: lib.nn.BatchNorm3d(3)(lib.T(X3)),
        ValueError,
        "BatchNorm3d: expected 3 channels",
        id="BatchNorm3d-channels",
    ),
    P(
        lambda lib: lib.F.batch_norm(lib.T(X2), lib.T(np.zeros(2)), lib.T(np.ones(3))),
        ValueError,
        r"batch_norm: expected running_mean of shape \(3,\)",
        id="batch_norm-running-mean",
    ),
    # dropout
    P(
        lambda lib: lib.F.dropout(lib.T(X1), 1.5),
        ValueError,
        r"dropout: p must be in \[0, 1\]",
        id="dropout-p-above-1",
    ),
    P(
        lambda lib: lib.nn.Dropout(-0.5),
        ValueError,
        r"Dropout: p must be in \[0, 1\]",
        id="Dropout-p-negative",
    ),
    P(
        lambda lib: lib.nn.Dropout2d(2.0),
        ValueError,
        r"Dropout2d: p must be in \[0, 1\]",
        id="Dropout2d-p",
    ),
    P(
        lambda lib: lib.nn.Dropout3d(-1.0),
        ValueError,
        r"Dropout3d: p must be in \[0, 1\]",
        id="Dropout3d-p",
    ),
    P(
        lambda lib: lib.nn.AlphaDropout(2.0),
        ValueError,
        r"AlphaDropout: p must be in \[0, 1\]",
        id="AlphaDropout-p",
    ),
    P(
        lambda lib: lib.nn.FeatureAlphaDropout(2.0),
        ValueError,
        r"FeatureAlphaDropout: p must",
        id="FeatureAlphaDropout-p",
    ),
    P(
        lambda lib: lib.nn.Dropout("0.5"),
        TypeError,
        "Dropout: p must be a float",
        id="Dropout-p-str",
    ),
    P(
        lambda lib: lib.F.dropout(lib.T(X1), "0.5"),
        TypeError,
        "dropout: p must be a float",
        id="dropout-p-str",
    ),
    P(
        lambda lib: lib.F.dropout2d(lib.T(X2), [0.5]),
        TypeError,
        "dropout2d: p must be a float",
        id="dropout2d-p-list",
    ),
    P(
        lambda lib: lib.F.dropout1d(lib.T(X2), 0.5),
        ValueError,
        "dropout1d: expected a 2-d",
        id="dropout1d-4d",
    ),
    P(
        lambda lib: lib.F.feature_alpha_dropout(lib.T(_r(4)), 0.5, True),
        ValueError,
        "feature_alpha_dropout: expected",
        id="feature_alpha_dropout-1d",
    ),
    # activations
    P(
        lambda lib: lib.nn.PReLU(3)(lib.T(_r(2, 4, 3))),
        ValueError,
        r"PReLU\(num_parameters=3\): expected",
        id="PReLU-channels",
    ),
    P(
        lambda lib: lib.F.prelu(lib.T(X2), lib.T(np.ones((3, 1)))),
        ValueError,
        "prelu: expected a weight",
        id="prelu-2d-weight",
    ),
    P(
        lambda lib: lib.nn.RReLU(0.5, 0.1)(lib.T(X1)),
        ValueError,
        "RReLU: expected 0 <= lower <= upper",
        id="RReLU-bounds",
    ),
    P(
        lambda lib: lib.nn.Softmin(3)(lib.T(X1)),
        IndexError,
        "softmin: dim 3 is out of range",
        id="Softmin-dim",
    ),
    P(
        lambda lib: lib.nn.Softmax(-4)(lib.T(X1)),
        IndexError,
        "softmax: dim -4 is out of range",
        id="Softmax-dim",
    ),
    P(
        lambda lib: lib.nn.LogSoftmax(3)(lib.T(X1)),
        IndexError,
        "log_softmax: dim 3 is out of range",
        id="LogSoftmax-dim",
    ),
    P(
        lambda lib: lib.nn.Softmax2d()(lib.T(X3)),
        ValueError,
        "Softmax2d: expected",
        id="Softmax2d-5d",
    ),
    P(
        lambda lib: lib.nn.GLU(3)(lib.T(_r(2, 4))),
        IndexError,
        "glu: dim 3 is out of range",
        id="GLU-dim",
    ),
    P(
        lambda lib: lib.nn.GLU()(lib.T(_r(2, 5))),
        ValueError,
        "glu: dim -1 must have an even",
        id="GLU-odd",
    ),
    P(
        lambda lib: lib.nn.Softshrink(-0.5)(lib.T(X1)),
        ValueError,
        "Softshrink: lambd must be >= 0",
        id="Softshrink-negative",
    ),
    P(
        lambda lib: lib.nn.Hardtanh(1.0, -1.0)(lib.T(X1)),
        ValueError,
        "Hardtanh: min_val 1.0 is greater",
        id="Hardtanh-bounds",
    ),
    # distances
    P(
        lambda lib: lib.F.pairwise_distance(lib.T(_r(3, 4)), lib.T(_r(3, 5))),
        ValueError,
        "pairwise_distance: x1 of shape .* do not broadcast",
        id="pairwise_distance-shapes",
    ),
    P(
        lambda lib: lib.nn.PairwiseDistance()(lib.T(_r(3, 4)), lib.T(_r(2, 4))),
        ValueError,
        "pairwise_distance: .* do not broadcast",
        id="PairwiseDistance-batch",
    ),
    P(
        lambda lib: lib.F.cosine_similarity(lib.T(_r(3, 4)), lib.T(_r(3, 5))),
        ValueError,
        "cosine_similarity: .* do not broadcast",
        id="cosine_similarity-shapes",
    ),
    P(
        lambda lib: lib.nn.CosineSimilarity(dim=3)(lib.T(_r(3, 4)), lib.T(_r(3, 4))),
        IndexError,
        "cosine_similarity: dim 3 is out of range",
        id="CosineSimilarity-dim",
    ),
    P(
        lambda lib: lib.F.cosine_similarity(lib.T(_r(3, 4)), lib.T(_r(3, 4)), eps=-1.0),
        ValueError,
        "cosine_similarity: eps must be non-negative",
        id="cosine_similarity-eps",
    ),
    P(
        lambda lib: lib.F.pdist(lib.T(_r(2, 3, 4))),
        ValueError,
        "pdist: expected a 2-d",
        id="pdist-3d",
    ),
    # losses
    P(
        lambda lib: lib.F.mse_loss(lib.T(LOGITS), lib.T(_r(4, 2))),
        ValueError,
        r"mse_loss: input shape \(4, 3\) and target shape \(4, 2\)",
        id="mse_loss-shapes",
    ),
    P(
        lambda lib: lib.nn.L1Loss()(lib.T(LOGITS), lib.T(_r(4, 2))),
        ValueError,
        "L1Loss: prediction shape",
        id="L1Loss-shapes",
    ),
    P(
        lambda lib: lib.F.kl_div(lib.T(LOGITS), lib.T(PROBS), reduction="batchsum"),
        ValueError,
        "kl_div: reduction must be",
        id="kl_div-reduction",
    ),
    P(
        lambda lib: lib.F.smooth_l1_loss(lib.T(LOGITS), lib.T(LOGITS), reduction="avg"),
        ValueError,
        "smooth_l1_loss: reduction must be",
        id="smooth_l1_loss-reduction",
    ),
    P(
        lambda lib: lib.nn.MSELoss(reduction="avg")(lib.T(LOGITS), lib.T(LOGITS)),
        ValueError,
        "MSELoss: reduction must be",
        id="MSELoss-reduction",
    ),
    P(
        lambda lib: lib.nn.CrossEntropyLoss(reduction=None)(lib.T(LOGITS), lib.T(LABELS)),
        ValueError,
        "CrossEntropyLoss: reduction must be",
        id="CrossEntropyLoss-reduction",
    ),
    P(
        lambda lib: lib.nn.KLDivLoss(reduction="batch")(lib.T(LOGITS), lib.T(PROBS)),
        ValueError,
        "KLDivLoss: reduction must be",
        id="KLDivLoss-reduction",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(LABELS), reduction="avg"),
        ValueError,
        "cross_entropy: reduction must be",
        id="cross_entropy-reduction",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(LABELS), label_smoothing=1.5),
        ValueError,
        r"cross_entropy: label_smoothing must be in \[0, 1\]",
        id="cross_entropy-label-smoothing",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(_i(0, 1))),
        ValueError,
        "cross_entropy: expected input .* and target",
        id="cross_entropy-target-batch",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(_r(4, 2))),
        ValueError,
        "cross_entropy: input shape .* and target shape",
        id="cross_entropy-probabilities-shape",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(LABELS), weight=lib.T(np.ones(2))),
        ValueError,
        r"cross_entropy: expected a weight of shape \(3,\)",
        id="cross_entropy-weight",
    ),
    P(
        lambda lib: lib.F.cross_entropy(
            lib.T(LOGITS), lib.T(LABELS), weight=lib.T(np.ones((3, 1)))
        ),
        ValueError,
        r"cross_entropy: expected a weight of shape \(3,\)",
        id="cross_entropy-weight-2d",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(PROBS), weight=lib.T(np.ones(2))),
        ValueError,
        r"cross_entropy: expected a weight of shape \(3,\)",
        id="cross_entropy-probabilities-weight",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(np.array(1.0)), lib.T(np.array(0))),
        ValueError,
        "cross_entropy: expected an input .* got a 0-d",
        id="cross_entropy-0d",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(LABELS.astype(float))),
        TypeError,
        r"cross_entropy: class indices must be integers, got float64 \(a floating target",
        id="cross_entropy-float-class-indices",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(np.zeros((4, 3), np.int64))),
        ValueError,
        r"cross_entropy: .* \(class probabilities must be floating point\)",
        id="cross_entropy-integer-probabilities",
    ),
    P(
        lambda lib: lib.F.nll_loss(lib.T(np.array(1.0)), lib.T(np.array(0))),
        ValueError,
        "nll_loss: expected an input .* got a 0-d",
        id="nll_loss-0d",
    ),
    P(
        lambda lib: lib.F.nll_loss(lib.T(LOGITS), lib.T(LABELS.astype(float))),
        TypeError,
        "nll_loss: class indices must be integers",
        id="nll_loss-float-target",
    ),
    P(
        lambda lib: lib.F.nll_loss(lib.T(LOGITS), lib.T(LABELS), weight=lib.T(np.ones(2))),
        ValueError,
        r"nll_loss: expected a weight of shape \(3,\)",
        id="nll_loss-weight",
    ),
    P(
        lambda lib: lib.F.binary_cross_entropy(
            lib.T(PROBS), lib.T(PROBS), weight=lib.T(np.ones(2))
        ),
        ValueError,
        r"binary_cross_entropy: weight of shape \(2,\) does not broadcast",
        id="bce-weight",
    ),
    P(
        lambda lib: lib.F.binary_cross_entropy_with_logits(
            lib.T(LOGITS), lib.T(PROBS), pos_weight=lib.T(np.ones(2))
        ),
        ValueError,
        "binary_cross_entropy_with_logits: pos_weight of shape",
        id="bce-logits-pos-weight",
    ),
    P(
        lambda lib: lib.F.binary_cross_entropy_with_logits(
            lib.T(LOGITS), lib.T(PROBS), weight=lib.T(np.ones(2))
        ),
        ValueError,
        "binary_cross_entropy_with_logits: weight of shape",
        id="bce-logits-weight",
    ),
    P(
        lambda lib: lib.F.huber_loss(lib.T(LOGITS), lib.T(LOGITS), weight=lib.T(np.ones(2))),
        ValueError,
        "huber_loss: weight of shape",
        id="huber_loss-weight",
    ),
    P(
        lambda lib: lib.F.multilabel_soft_margin_loss(
            lib.T(LOGITS), lib.T(PROBS), weight=lib.T(np.ones(2))
        ),
        ValueError,
        "multilabel_soft_margin_loss: weight of shape",
        id="multilabel_soft_margin-weight",
    ),
    P(
        lambda lib: lib.F.margin_ranking_loss(lib.T(_r(4)), lib.T(_r(3)), lib.T(np.ones(4))),
        ValueError,
        "margin_ranking_loss: expected input1, input2 and target",
        id="margin_ranking-shapes",
    ),
    P(
        lambda lib: lib.nn.MarginRankingLoss()(lib.T(_r(4, 1)), lib.T(_r(4)), lib.T(np.ones(4))),
        ValueError,
        "margin_ranking_loss: expected .* of one rank",
        id="MarginRankingLoss-ranks",
    ),
    P(
        lambda lib: lib.F.hinge_embedding_loss(lib.T(_r(4)), lib.T(np.ones(3))),
        ValueError,
        "hinge_embedding_loss: input shape .* do not broadcast",
        id="hinge_embedding-shapes",
    ),
    P(
        lambda lib: lib.F.cosine_embedding_loss(
            lib.T(_r(4, 3)), lib.T(_r(4, 3)), lib.T(np.ones(3))
        ),
        ValueError,
        "cosine_embedding_loss: expected inputs",
        id="cosine_embedding-target-batch",
    ),
    P(
        lambda lib: lib.F.cosine_embedding_loss(
            lib.T(_r(4, 3)), lib.T(_r(4, 3)), lib.T(np.ones((4, 1)))
        ),
        ValueError,
        "cosine_embedding_loss: expected inputs",
        id="cosine_embedding-target-2d",
    ),
    P(
        lambda lib: lib.F.cosine_embedding_loss(
            lib.T(_r(2, 4, 3)), lib.T(_r(2, 4, 3)), lib.T(np.ones((2, 4)))
        ),
        ValueError,
        "cosine_embedding_loss: expected inputs",
        id="cosine_embedding-3d",
    ),
    P(
        lambda lib: lib.F.multi_margin_loss(lib.T(LOGITS), lib.T(LABELS.astype(float))),
        TypeError,
        "multi_margin_loss: class indices must be integers",
        id="multi_margin-float-target",
    ),
    P(
        lambda lib: lib.F.multi_margin_loss(lib.T(LOGITS), lib.T(LABELS), weight=lib.T(np.ones(2))),
        ValueError,
        r"multi_margin_loss: expected a weight of shape \(3,\)",
        id="multi_margin-weight",
    ),
    P(
        lambda lib: lib.F.multi_margin_loss(lib.T(LOGITS), lib.T(_i(0, 1))),
        ValueError,
        "multi_margin_loss: expected input",
        id="multi_margin-target-batch",
    ),
    P(
        lambda lib: lib.F.triplet_margin_loss(
            lib.T(_r(4, 3)), lib.T(_r(4, 3)), lib.T(_r(4, 3)), margin=0.0
        ),
        ValueError,
        "triplet_margin_loss: margin must be greater than 0",
        id="triplet_margin-margin",
    ),
    P(
        lambda lib: lib.F.triplet_margin_loss(lib.T(_r(4, 3)), lib.T(_r(3, 3)), lib.T(_r(4, 3))),
        ValueError,
        "triplet_margin_loss: expected anchor",
        id="triplet_margin-batch",
    ),
    P(
        lambda lib: lib.F.triplet_margin_loss(lib.T(_r(4, 3)), lib.T(_r(4, 2)), lib.T(_r(4, 3))),
        ValueError,
        "triplet_margin_loss: expected anchor",
        id="triplet_margin-features",
    ),
    P(
        lambda lib: lib.F.gaussian_nll_loss(lib.T(LOGITS), lib.T(LOGITS), lib.T(np.ones((4, 2)))),
        ValueError,
        "gaussian_nll_loss: var has shape",
        id="gaussian_nll-var-shape",
    ),
]


def _rnn(name: str, *args: Any, **kwargs: Any) -> Callable[[Lib], Any]:
    return lambda lib: getattr(lib.nn, name)(*args, **kwargs)


def _state(lib: Lib, lstm: bool, h: np.ndarray) -> Any:
    return (lib.T(h), lib.T(h)) if lstm else lib.T(h)


RECURRENT_ERRORS = (
    [
        P(
            lambda lib, n=n: _rnn(n, 3, 4)(lib)(lib.T(_r(5, 2, 3, 1))),
            ValueError,
            rf"{n}\(3, 4\): expected an input of shape \(L, N, 3\)",
            id=f"{n}-4d",
        )
        for n in ("RNN", "GRU", "LSTM")
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4)(lib)(lib.T(_r(5, 2, 2))),
            ValueError,
            rf"{n}\(3, 4\): expected an input",
            id=f"{n}-input-size",
        )
        for n in ("RNN", "GRU", "LSTM")
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4)(lib)(lib.T(_r(0, 2, 3))),
            ValueError,
            "expected a sequence length above 0",
            id=f"{n}-empty-sequence",
        )
        for n in ("RNN", "LSTM")
    ]
    + [
        P(
            _rnn(n, 3, 4, num_layers=0),
            ValueError,
            f"{n}: num_layers must be a positive int",
            id=f"{n}-0-layers",
        )
        for n in ("RNN", "GRU", "LSTM")
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4)(lib)(
                lib.T(_r(5, 2, 3)), _state(lib, n == "LSTM", _r(1, 3, 4))
            ),
            ValueError,
            rf"{n}\(3, 4\): expected h0 of shape \(1, 2, 4\), got shape \(1, 3, 4\)",
            id=f"{n}-h0-batch",
        )
        for n in ("RNN", "GRU", "LSTM")
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4, bidirectional=True, num_layers=2)(lib)(
                lib.T(_r(5, 2, 3)), _state(lib, n == "LSTM", _r(2, 2, 4))
            ),
            ValueError,
            r"expected h0 of shape \(4, 2, 4\)",
            id=f"{n}-bidirectional-h0",
        )
        for n in ("RNN", "GRU", "LSTM")
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4, batch_first=True)(lib)(
                lib.T(_r(5, 2, 3)), _state(lib, n == "LSTM", _r(1, 2, 4))
            ),
            ValueError,
            r"batch_first=True\): expected h0 of shape \(1, 5, 4\)",
            id=f"{n}-batch-first-h0",
        )
        for n in ("RNN", "GRU", "LSTM")
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4)(lib)(
                lib.T(_r(5, 3)), _state(lib, n == "LSTM", _r(1, 1, 4))
            ),
            ValueError,
            r"expected h0 of shape \(1, 4\)",
            id=f"{n}-unbatched-h0-3d",
        )
        for n in ("RNN", "GRU", "LSTM")
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4)(lib)(lib.T(_r(5, 2, 3)), [lib.T(_r(1, 2, 4))]),
            TypeError,
            rf"{n}\(3, 4\): hx must be a tensor or None",
            id=f"{n}-hx-list",
        )
        for n in ("RNN", "GRU")
    ]
    + [
        P(
            lambda lib: _rnn("LSTM", 3, 4)(lib)(
                lib.T(_r(5, 2, 3)), (lib.T(_r(1, 2, 4)), lib.T(_r(1, 2, 5)))
            ),
            ValueError,
            r"LSTM\(3, 4\): expected c0 of shape \(1, 2, 4\)",
            id="LSTM-c0",
        ),
        P(
            lambda lib: _rnn("LSTM", 3, 4)(lib)(lib.T(_r(5, 2, 3)), lib.T(_r(1, 2, 4))),
            TypeError,
            r"LSTM\(3, 4\): hx must be a tuple \(h0, c0\)",
            id="LSTM-hx-tensor",
        ),
        P(
            lambda lib: _rnn("LSTM", 3, 4, proj_size=2)(lib)(
                lib.T(_r(5, 2, 3)), (lib.T(_r(1, 2, 4)), lib.T(_r(1, 2, 4)))
            ),
            ValueError,
            r"expected h0 of shape \(1, 2, 2\)",
            id="LSTM-proj-h0",
        ),
        P(
            _rnn("LSTM", 3, 4, proj_size=4),
            ValueError,
            "LSTM: proj_size .* must be smaller than hidden_size",
            id="LSTM-proj-size",
        ),
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4)(lib)(lib.T(_r(5, 2, 3))),
            ValueError,
            rf"{n}\(3, 4\): expected an input of shape \(N, 3\)",
            id=f"{n}-3d",
        )
        for n in ("RNNCell", "GRUCell", "LSTMCell")
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4)(lib)(
                lib.T(_r(2, 3)), _state(lib, n == "LSTMCell", _r(3, 4))
            ),
            ValueError,
            rf"{n}\(3, 4\): expected hx of shape \(2, 4\), got shape \(3, 4\)",
            id=f"{n}-hx-batch",
        )
        for n in ("RNNCell", "GRUCell", "LSTMCell")
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4)(lib)(
                lib.T(_r(2, 3)), _state(lib, n == "LSTMCell", _r(2, 5))
            ),
            ValueError,
            rf"{n}\(3, 4\): expected hx of shape \(2, 4\), got shape \(2, 5\)",
            id=f"{n}-hx-hidden",
        )
        for n in ("RNNCell", "GRUCell", "LSTMCell")
    ]
    + [
        P(
            lambda lib, n=n: _rnn(n, 3, 4)(lib)(
                lib.T(_r(3)), _state(lib, n == "LSTMCell", _r(1, 4))
            ),
            ValueError,
            r"expected hx of shape \(4,\)",
            id=f"{n}-unbatched-hx-2d",
        )
        for n in ("RNNCell", "GRUCell", "LSTMCell")
    ]
    + [
        P(
            lambda lib: _rnn("LSTMCell", 3, 4)(lib)(
                lib.T(_r(2, 3)), (lib.T(_r(2, 4)), lib.T(_r(2, 5)))
            ),
            ValueError,
            r"LSTMCell\(3, 4\): expected cx of shape \(2, 4\)",
            id="LSTMCell-cx",
        ),
    ]
)

# data-dependent problems: eager tensors are read to check them, graphs check at run time
VALUE_ERRORS = [
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(_i(0, 3, 1, 2))),
        IndexError,
        "cross_entropy: index 3 is out of bounds for 3 classes",
        id="cross_entropy-class-too-big",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(_i(0, -1, 1, 2))),
        IndexError,
        "cross_entropy: index -1 is out of bounds",
        id="cross_entropy-class-negative",
    ),
    P(
        lambda lib: lib.F.cross_entropy(lib.T(LOGITS), lib.T(_i(0, 5, 1, 2)), ignore_index=4),
        IndexError,
        "cross_entropy: index 5",
        id="cross_entropy-class-not-the-ignored",
    ),
    P(
        lambda lib: lib.F.nll_loss(lib.T(LOGITS), lib.T(_i(0, -2, 1, 2))),
        IndexError,
        "nll_loss: index -2 is out of bounds",
        id="nll_loss-class-negative",
    ),
    P(
        lambda lib: lib.F.multi_margin_loss(lib.T(LOGITS), lib.T(_i(0, 3, 1, 2))),
        IndexError,
        "multi_margin_loss: index 3",
        id="multi_margin-class-too-big",
    ),
    P(
        lambda lib: lib.F.binary_cross_entropy(lib.T(LOGITS), lib.T(PROBS)),
        RuntimeError,
        "binary_cross_entropy: all elements of input should be between 0 and 1",
        id="bce-input-not-probabilities",
    ),
    P(
        lambda lib: lib.F.gaussian_nll_loss(lib.T(LOGITS), lib.T(LOGITS), lib.T(-np.ones((4, 3)))),
        ValueError,
        "gaussian_nll_loss: var has negative entries",
        id="gaussian_nll-negative-var",
    ),
]


# what PyTorch raises for these (Hardtanh asserts, GroupNorm(0, C) divides by zero, RNN reads
# a list hx as a tensor)
TORCH_ERRORS = (
    ValueError,
    TypeError,
    IndexError,
    RuntimeError,
    ArithmeticError,
    AssertionError,
    AttributeError,
)


@pytest.mark.parametrize(("call", "error", "match"), SHAPE_ERRORS + RECURRENT_ERRORS + VALUE_ERRORS)
def test_eager_bad_input_raises_naming_the_layer(
    call: Callable[[Lib], Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(TORCH_ERRORS):  # the oracle refuses too
        call(TORCH)
    with pytest.raises(error, match=match):
        call(GJ)


@pytest.mark.parametrize(("call", "error", "match"), SHAPE_ERRORS + RECURRENT_ERRORS)
def test_graph_bad_input_raises_when_the_graph_is_built(
    call: Callable[[Lib], Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call(graph_lib())


# (call on the inputs, inputs, compare's options): PyTorch returns, and graphjit must agree
XN = np.array([[-1.0, 0.0, np.nan, 1.0, 2.5], [0.5, np.nan, -2.0, 3.0, 0.25]])
EDGE_CASES = [
    P(
        lambda lib, x: lib.F.lp_pool2d(lib.F.relu(x) + 0.1, float("inf"), 2),
        [X2],
        {},
        id="lp_pool2d-inf-norm",
    ),
    P(lambda lib, x: lib.nn.LPPool1d(float("inf"), 2, 1)(x), [X1], {}, id="LPPool1d-inf-norm"),
    P(lambda lib, x: lib.F.pad(x, (-1, 2), mode="circular"), [X1], {}, id="pad-circular-crop-left"),
    P(
        lambda lib, x: lib.F.pad(x, (2, -1), mode="circular"),
        [X1],
        {},
        id="pad-circular-crop-right",
    ),
    P(
        lambda lib, x: lib.F.pad(x, (-2, -3), mode="circular"),
        [X1],
        {},
        id="pad-circular-crop-to-empty",
    ),
    P(lambda lib, x: lib.F.pad(x, (-1, -1), mode="reflect"), [X1], {}, id="pad-reflect-crop"),
    P(
        lambda lib, x: lib.F.pad(x, (-1, 2, 1, -1), mode="replicate"),
        [X2[0]],
        {},
        id="pad-replicate-crop",
    ),
    P(lambda lib, x: lib.nn.Threshold(0.5, 7.0)(x), [XN], {}, id="Threshold-nan-input"),
    P(lambda lib, x: lib.F.threshold(x, float("nan"), 7.0), [XN], {}, id="threshold-nan-threshold"),
    P(
        lambda lib, x, y: lib.F.pairwise_distance(x, y),
        [np.array(1.5), np.array(-0.5)],
        {},
        id="pairwise_distance-0d",
    ),
    P(
        lambda lib, x, y: lib.F.cosine_similarity(x, y),
        [_r(3, 4), _r(1, 4)],
        {},
        id="cosine_similarity-broadcast",
    ),
    P(lambda lib, x: lib.F.max_pool2d(x, 3, 1, 1), [X2], {}, id="maxpool2d-padding-half-kernel"),
    P(
        lambda lib, x: lib.F.avg_pool2d(x, 2, 2, ceil_mode=True),
        [X2],
        {},
        id="avgpool2d-ceil-partial-window",
    ),
    P(
        lambda lib, x: lib.F.adaptive_avg_pool2d(x, 7),
        [X2],
        {},
        id="adaptive_avg_pool2d-bigger-than-input",
    ),
    P(
        lambda lib, x, t: lib.F.cross_entropy(x, t, label_smoothing=0.2),
        [LOGITS, _i(0, -100, 1, 2)],
        {},
        id="cross_entropy-ignored-and-smoothed",
    ),
    P(
        lambda lib, x, t: lib.F.cross_entropy(
            x, t, weight=lib.T(np.array([1.0, 2.0, 3.0])), label_smoothing=0.2
        ),
        [LOGITS, _i(0, -100, 1, 2)],
        {"backend": None},
        id="cross_entropy-ignored-weighted-smoothed",
    ),
    P(
        lambda lib, x, t: lib.F.cross_entropy(x, t, label_smoothing=1.0, reduction="none"),
        [LOGITS, LABELS],
        {},
        id="cross_entropy-label-smoothing-1",
    ),
    P(
        lambda lib, x, t: lib.F.cross_entropy(x, t, ignore_index=7),
        [LOGITS, _i(0, 7, 1, 2)],
        {},
        id="cross_entropy-ignore-index-out-of-range",
    ),
    P(
        lambda lib, x, t: lib.F.nll_loss(x, t, ignore_index=1, reduction="sum"),
        [LOGITS, _i(0, 1, 1, 2)],
        {},
        id="nll_loss-ignore-index-in-range",
    ),
    P(
        lambda lib, a, b, t: lib.F.margin_ranking_loss(a, b, t),
        [_r(4), _r(4, 1)[:, 0], np.array([1.0, 0.0, -1.0, 2.0])],
        {"wrt": [0, 1]},
        id="margin_ranking-targets-not-pm1",
    ),
    P(
        lambda lib, x, t: lib.F.hinge_embedding_loss(x, t),
        [_r(4), np.array([1.0, 0.0, -1.0, 2.0])],
        {"wrt": [0]},
        id="hinge_embedding-targets-not-pm1",
    ),
    P(
        lambda lib, a, b, t: lib.F.cosine_embedding_loss(a, b, t),
        [_r(4, 3), _r(3, 4).T.copy(), np.array([1.0, 0.0, -1.0, 2.0])],
        {"wrt": [0, 1]},
        id="cosine_embedding-targets-not-pm1",
    ),
]


@pytest.mark.parametrize(("call", "inputs", "options"), EDGE_CASES)
def test_edge_input_matches_torch(
    call: Callable[..., Any], inputs: list[np.ndarray], options: dict[str, Any]
) -> None:
    compare(lambda *xs: call(GJ, *xs), lambda *xs: call(TORCH, *xs), inputs, **options)


def _copied(name: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """A torch recurrent module and a gj one holding its weights."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, name)(*args, **kwargs)
    module = getattr(gj.nn, name)(*args, **kwargs)
    module.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    return module, reference


@pytest.mark.parametrize(
    ("name", "kwargs", "x", "h0"),
    [
        P("GRU", {"batch_first": True}, _r(2, 5, 3), _r(1, 2, 4), id="GRU-batch-first"),
        P(
            "RNN",
            {"bidirectional": True, "num_layers": 2},
            _r(5, 2, 3),
            _r(4, 2, 4),
            id="RNN-bidirectional",
        ),
        P("RNN", {}, _r(5, 3), _r(1, 4), id="RNN-unbatched"),
    ],
)
def test_recurrent_boundary_shapes_match_torch(
    name: str, kwargs: dict[str, Any], x: np.ndarray, h0: np.ndarray
) -> None:
    module, reference = _copied(name, 3, 4, **kwargs)
    compare(lambda a, h: module(a, h)[0], lambda a, h: reference(a, h)[0], [x, h0], backend=None)


def test_assigning_a_plain_value_to_a_parameter_name_is_refused() -> None:
    layer = gj.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign int as parameter 'weight' of Linear"):
        layer.weight = 3
    with pytest.raises(TypeError, match="cannot assign ndarray as parameter 'bias'"):
        layer.bias = np.zeros(2)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    with pytest.raises(TypeError):
        torch.nn.Linear(2, 2).weight = 3  # the oracle refuses too


def _param() -> Any:
    return gj.nn.Parameter(gj.zeros(2))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        P(
            lambda: gj.nn.ParameterList([1]),
            TypeError,
            "ParameterList.append: expected a gj.nn.Parameter",
            id="list-int",
        ),
        P(
            lambda: gj.nn.ParameterList([gj.nn.Linear(2, 2)]),
            TypeError,
            "expected a gj.nn.Parameter or a tensor, got Linear",
            id="list-module",
        ),
        P(
            lambda: gj.nn.ParameterList(5),
            TypeError,
            "ParameterList: expected an iterable, got int",
            id="list-not-iterable",
        ),
        P(
            lambda: gj.nn.ParameterList([_param()])[3],
            IndexError,
            "ParameterList: index 3 is out of range for 1 parameters",
            id="list-index",
        ),
        P(
            lambda: gj.nn.ParameterList([_param()])["a"],
            TypeError,
            "ParameterList: indices must be integers",
            id="list-str-index",
        ),
        P(
            lambda: gj.nn.ParameterList([_param()]).__setitem__(-2, _param()),
            IndexError,
            "ParameterList: index -2",
            id="list-set-index",
        ),
        P(
            lambda: gj.nn.ParameterDict({1: _param()}),
            KeyError,
            "ParameterDict: keys must be non-empty strings",
            id="dict-int-key",
        ),
        P(
            lambda: gj.nn.ParameterDict({"a.b": _param()}),
            KeyError,
            "without '.'",
            id="dict-dotted-key",
        ),
        P(
            lambda: gj.nn.ParameterDict({"a": 3}),
            TypeError,
            r"ParameterDict\['a'\]: expected a gj.nn.Parameter",
            id="dict-int-value",
        ),
        P(
            lambda: gj.nn.ParameterDict({"update": _param()}),
            KeyError,
            "'update' is an attribute of the ParameterDict",
            id="dict-method-key",
        ),
        P(
            lambda: gj.nn.ParameterDict({"forward": _param()}),
            KeyError,
            "'forward' is an attribute",
            id="dict-forward-key",
        ),
        P(
            lambda: gj.nn.ParameterDict([("a", _param(), 1)]),
            ValueError,
            "ParameterDict.update: element #0 has length 3; 2 is required",
            id="dict-triple",
        ),
        P(
            lambda: gj.nn.ParameterDict(["ab"]),
            TypeError,
            "ParameterDict.update: element #0 is not a",
            id="dict-str-item",
        ),
        P(
            lambda: gj.nn.ParameterDict(5),
            TypeError,
            "ParameterDict.update: expected an iterable",
            id="dict-not-iterable",
        ),
    ],
)
def test_parameter_containers_refuse_bad_items(
    make: Callable[[], Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        make()


def test_a_repeated_key_or_name_replaces_in_place_as_in_torch() -> None:
    first, second = _param(), gj.nn.Parameter(gj.ones(3))
    params = gj.nn.ParameterDict([("a", first), ("b", _param()), ("a", second)])
    assert params.keys() == ["a", "b"] and params["a"] is second
    params.update({"c": _param()})  # the method is still the method
    assert len(params) == 3
    layer, reference = gj.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    layer.weight = gj.nn.Parameter(gj.zeros((2, 2)))
    reference.weight = torch.nn.Parameter(torch.zeros(2, 2))
    assert [n for n, _ in layer.named_parameters()] == [n for n, _ in reference.named_parameters()]


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "multi_margin_loss"])
def test_compiled_graph_refuses_a_class_out_of_range_at_run_time(loss: str) -> None:
    x = gj.placeholder("x", shape=(None, 3))
    t = gj.placeholder("t", shape=(None,), dtype="int64")
    f = gj.compile([x, t], [getattr(gj.nn.functional, loss)(x, t)], backend="cpu")
    (good,) = f(LOGITS, LABELS)
    want = getattr(torch.nn.functional, loss)(torch.tensor(LOGITS), torch.tensor(LABELS))
    np.testing.assert_allclose(good, want.numpy(), rtol=1e-12)
    for bad in (_i(0, 3, 1, 2), _i(0, -1, 1, 2)):
        with pytest.raises(IndexError, match="out of bounds"):
            f(LOGITS, bad)
