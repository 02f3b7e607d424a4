"""Learning-rate schedulers in PyTorch's shape: ``scheduler.step()`` once per epoch sets the
optimiser's ``lr`` from the epoch count. The rate is a variable of compiled steps, so compiled and
eager steps both follow the schedule."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from graphjit.optim.optimizers import SGD, Adam, Optimizer

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "OneCycleLR",
    "StepLR",
]


class LRScheduler:
    """Sets ``optimizer.lr`` to ``lr_at(epoch)``; constructing one applies epoch 0."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected a gj.optim optimiser, got "
                f"{type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        return [self.optimizer.lr]


class StepLR(LRScheduler):
    """``base_lr * gamma ** (epoch // step_size)``."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if step_size <= 0:
            raise ValueError(f"StepLR: step_size must be positive, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """``base_lr * gamma ** epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
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
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, epoch: int) -> float:
        cos = 1 + math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * cos / 2


class LambdaLR(LRScheduler):
    """``base_lr * lr_lambda(epoch)``."""

    def __init__(
        self, optimizer: Optimizer, lr_lambda: Callable[[int], float], last_epoch: int = -1
    ) -> None:
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
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not isinstance(value, int) or value <= 0:
                    raise ValueError(f"OneCycleLR: {name} must be a positive int, got {value!r}")
            total_steps = epochs * steps_per_epoch
        if not isinstance(total_steps, int) or total_steps <= 0:
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
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = cycle_momentum
        self.max_lr = max_lr
        initial_lr = max_lr / div_factor
        min_lr = initial_lr / final_div_factor
        up = float(pct_start * total_steps) - 1
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
        self.last_epoch += 1
        lr, momentum = self.values_at(self.last_epoch)
        self.optimizer.lr = lr
        if self.cycle_momentum:
            if isinstance(self.optimizer, SGD):
                self.optimizer.momentum = momentum
            elif isinstance(self.optimizer, Adam):
                self.optimizer.beta1 = momentum
