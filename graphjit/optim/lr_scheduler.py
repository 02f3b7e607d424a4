"""Learning-rate schedulers in PyTorch's shape: ``scheduler.step()`` once per epoch sets the
optimiser's ``lr`` from the epoch count. The rate is a variable of compiled steps, so compiled and
eager steps both follow the schedule."""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from graphjit.optim.optimizers import SGD, Adam, Optimizer

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "StepLR",
]


def _number(owner: object, name: str, value: Any, positive: bool = False) -> float:
    """``value`` as a float, refused (naming ``owner``'s class) unless a real number (> 0 with
    ``positive``)."""
    cls = type(owner).__name__
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{cls}: {name} must be a number, got {value!r}")
    if positive and not float(value) > 0:
        raise ValueError(f"{cls}: {name} must be positive, got {value}")
    return float(value)


class LRScheduler:
    """Sets ``optimizer.lr`` to ``lr_at(epoch)``; constructing one applies epoch 0.

    As PyTorch's, the first scheduler on an optimiser records its rate as
    ``optimizer.initial_lr``; one resuming at ``last_epoch >= 0`` starts from that rate, and is
    refused (KeyError) on an optimiser no scheduler has recorded it on."""

    optimizer: Optimizer
    base_lr: float
    last_epoch: int

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        cls = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{cls}: expected a gj.optim optimiser, got {type(optimizer).__name__}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral):
            raise TypeError(f"{cls}: last_epoch must be an int, got {last_epoch!r}")
        if last_epoch < -1:
            raise ValueError(f"{cls}: last_epoch must be >= -1, got {last_epoch}")
        if last_epoch == -1:
            self.base_lr = optimizer.lr
        elif optimizer.initial_lr is None:
            raise KeyError(
                f"{cls}: last_epoch={last_epoch} resumes a schedule, but no scheduler has "
                "recorded the optimiser's initial_lr (start with last_epoch=-1)"
            )
        else:
            self.base_lr = optimizer.initial_lr
        self.optimizer = optimizer
        self.last_epoch = int(last_epoch)
        self.step()
        if optimizer.initial_lr is None:
            optimizer.initial_lr = self.base_lr

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        # the epoch counts only once the rate is set: a refused step leaves the schedule as it was
        epoch = self.last_epoch + 1
        self.optimizer.lr = self.lr_at(epoch)
        self.last_epoch = epoch

    def get_last_lr(self) -> list[float]:
        return [self.optimizer.lr]

    def state_dict(self) -> dict[str, Any]:
        """The schedule's state (every attribute but the optimiser and functions), as PyTorch's."""
        return {k: v for k, v in vars(self).items() if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s result (of a scheduler of the same class); a dict with
        other keys is refused before anything changes."""
        cls = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"{cls}.load_state_dict: expected a dict, got {type(state_dict).__name__}"
            )
        expected = set(self.state_dict())
        if set(state_dict) != expected:
            missing = sorted(expected - set(state_dict))
            unknown = sorted(set(state_dict) - expected, key=str)
            raise KeyError(
                f"{cls}.load_state_dict: missing keys {missing}, unexpected keys {unknown}"
            )
        vars(self).update(state_dict)


class StepLR(LRScheduler):
    """``base_lr * gamma ** (epoch // step_size)``."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        _number(self, "step_size", step_size, positive=True)
        self.step_size, self.gamma = step_size, _number(self, "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """``base_lr * gamma ** (number of milestones <= epoch)``; a milestone listed twice counts
    twice, as in PyTorch."""

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Iterable):
            raise TypeError(f"MultiStepLR: milestones must be a list of ints, got {milestones!r}")
        marks = list(milestones)
        for m in marks:
            if isinstance(m, bool) or not isinstance(m, numbers.Integral):
                raise TypeError(f"MultiStepLR: milestones must be ints, got {m!r}")
        self.milestones = sorted(int(m) for m in marks)
        self.gamma = _number(self, "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    """``base_lr * gamma ** epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _number(self, "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """``eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2`` (PyTorch's closed
    form; its recursive update agrees up to rounding)."""

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,  # noqa: N803 - PyTorch's name
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        _number(self, "T_max", T_max, positive=True)
        self.T_max, self.eta_min = T_max, _number(self, "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        cos = 1 + math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * cos / 2


class LambdaLR(LRScheduler):
    """``base_lr * lr_lambda(epoch)``; as PyTorch's, ``lr_lambda`` may be a list of one function
    per parameter group (graphjit's optimisers have one group)."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != 1:
                raise ValueError(
                    f"LambdaLR: expected 1 lr_lambda (the optimiser has one parameter group), "
                    f"got {len(lr_lambda)}"
                )
            (lr_lambda,) = lr_lambda
        if not callable(lr_lambda):
            raise TypeError(f"LambdaLR: lr_lambda must be callable, got {lr_lambda!r}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.lr_lambda(epoch)


class _Phase(NamedTuple):
    end_step: float
    start_lr: float
    end_lr: float
    start_momentum: float
    end_momentum: float


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin), PyTorch's formulas: from ``max_lr / div_factor`` up to
    ``max_lr`` over the first ``pct_start`` of ``total_steps``, then down to ``initial_lr /
    final_div_factor`` (``three_phase``: down to the initial rate first, then to the minimum),
    annealed by cosine or linearly. Call ``step()`` after every batch, ``total_steps`` times at
    most (the last call keeps the minimum rate, where PyTorch extrapolates one step past it).

    With ``cycle_momentum`` the momentum moves the other way, between ``max_momentum`` and
    ``base_momentum``: SGD's ``momentum`` or Adam's/AdamW's ``betas[0]``, which compiled steps
    read as variables, so they follow the cycle too. (An SGD built with ``momentum=0`` has no
    momentum buffer; give it a momentum to cycle.) Other optimisers raise ValueError unless
    ``cycle_momentum=False``."""

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        max_lr = _number(self, "max_lr", max_lr)
        if max_lr < 0:
            raise ValueError(f"OneCycleLR: max_lr must be >= 0, got {max_lr}")
        div_factor = _number(self, "div_factor", div_factor, positive=True)
        final_div_factor = _number(self, "final_div_factor", final_div_factor, positive=True)
        pct_start = _number(self, "pct_start", pct_start)
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                    raise ValueError(f"OneCycleLR: {name} must be a positive int, got {value!r}")
            total_steps = epochs * steps_per_epoch
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(f"OneCycleLR: total_steps must be a positive int, got {total_steps!r}")
        if not 0.0 <= pct_start <= 1.0:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        if cycle_momentum and not isinstance(optimizer, (SGD, Adam)):
            raise ValueError(
                f"OneCycleLR: {type(optimizer).__name__} has no momentum or betas[0] to cycle; "
                "pass cycle_momentum=False"
            )
        if cycle_momentum:
            high = 1.0 if isinstance(optimizer, Adam) else math.inf  # Adam's betas[0] < 1
            for name, momentum in (
                ("base_momentum", base_momentum),
                ("max_momentum", max_momentum),
            ):
                if not 0.0 <= _number(self, name, momentum) < high:
                    raise ValueError(
                        f"OneCycleLR: {name} must be in [0, {high}) for "
                        f"{type(optimizer).__name__}, got {momentum}"
                    )
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = cycle_momentum
        self.max_lr = max_lr
        initial_lr = max_lr / div_factor
        min_lr = initial_lr / final_div_factor
        up = float(pct_start * total_steps) - 1
        if up == 0:  # the warm-up phase would end where it starts: PyTorch divides by zero
            raise ValueError(
                f"OneCycleLR: pct_start * total_steps must not be 1 (got {pct_start} * "
                f"{total_steps}); the warm-up phase would have no length"
            )
        if three_phase:
            self.phases = [
                _Phase(up, initial_lr, max_lr, max_momentum, base_momentum),
                _Phase(2 * up, max_lr, initial_lr, base_momentum, max_momentum),
                _Phase(total_steps - 1, initial_lr, min_lr, max_momentum, max_momentum),
            ]
        else:
            self.phases = [
                _Phase(up, initial_lr, max_lr, max_momentum, base_momentum),
                _Phase(total_steps - 1, max_lr, min_lr, base_momentum, max_momentum),
            ]
        self._momentum = max_momentum
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def values_at(self, step: int) -> tuple[float, float]:
        """(learning rate, momentum) after ``step`` calls of ``step()``."""
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {step} times, more than total_steps={self.total_steps}"
            )
        # the call after the last batch (step == total_steps) keeps the last values: PyTorch
        # extrapolates past the end there, which linear annealing can take below zero
        step = min(step, self.total_steps - 1)
        start = 0.0
        for i, phase in enumerate(self.phases):
            if step <= phase.end_step or i == len(self.phases) - 1:
                pct = (step - start) / (phase.end_step - start)
                return (
                    self._anneal(phase.start_lr, phase.end_lr, pct),
                    self._anneal(phase.start_momentum, phase.end_momentum, pct),
                )
            start = phase.end_step
        raise AssertionError("unreachable: the last phase always answers")

    def lr_at(self, epoch: int) -> float:
        return self.values_at(epoch)[0]

    def step(self) -> None:
        # checked before anything is set: a refused step leaves the schedule and rates as they were
        epoch = self.last_epoch + 1
        lr, momentum = self.values_at(epoch)
        self.optimizer.lr = lr
        if self.cycle_momentum:
            if isinstance(self.optimizer, SGD):
                self.optimizer.momentum = momentum
            elif isinstance(self.optimizer, Adam):
                self.optimizer.beta1 = momentum
        self.last_epoch = epoch


class ReduceLROnPlateau:
    """Lowers the rate when a metric stops improving, PyTorch's rules: call ``step(metric)``
    once per epoch; after more than ``patience`` epochs without an improvement (in ``mode``
    "min" or "max", by more than ``threshold``, relative or absolute per ``threshold_mode``) the
    rate becomes ``max(lr * factor, min_lr)`` (a change smaller than ``eps`` is skipped), then
    ``cooldown`` epochs pass before bad epochs count again. The rate is a variable of compiled
    steps, so they follow it."""

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"ReduceLROnPlateau: expected a gj.optim optimiser, got {type(optimizer).__name__}"
            )
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        factor = _number(self, "factor", factor)
        if not 0.0 <= factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor}")
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be an int >= 0, got {value!r}")
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = factor
        self.patience, self.cooldown = int(patience), int(cooldown)
        self.threshold = _number(self, "threshold", threshold)
        self.min_lr = _number(self, "min_lr", min_lr)
        self.eps = _number(self, "eps", eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def is_better(self, a: float, best: float) -> bool:
        if self.threshold_mode == "rel":
            scale = 1.0 - self.threshold if self.mode == "min" else 1.0 + self.threshold
            return a < best * scale if self.mode == "min" else a > best * scale
        if self.mode == "min":
            return a < best - self.threshold
        return a > best + self.threshold

    def step(self, metrics: Any) -> None:
        """Count one epoch with this value of the metric (a number, a 0-d array or tensor)."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(
                f"ReduceLROnPlateau.step: metrics must be a number, got {metrics!r:.60}"
            ) from None
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            old = self.optimizer.lr
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                self.optimizer.lr = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def get_last_lr(self) -> list[float]:
        return [self.optimizer.lr]

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s result; a dict with other keys is refused before anything
        changes."""
        LRScheduler.load_state_dict(self, state_dict)  # type: ignore[arg-type]
