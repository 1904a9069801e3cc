"""A learning-rate schedule that always anneals within a wall-clock budget.

Progress is the larger of (steps done / planned steps) and (seconds spent / time budget), so a run
slowed down by a busy machine still ends with a fully annealed learning rate instead of being cut
off at a high one. Shape: linear warm-up over the first ``warmup`` of progress, then cosine decay
to ``floor`` x the peak.
"""

from __future__ import annotations

import math
import time
from typing import Any

__all__ = ["BudgetSchedule"]


class BudgetSchedule:
    """Set the optimiser's learning rate from step count and elapsed time.

    Args:
        optimizer: a torch optimiser; lr: peak learning rate; total_steps: planned steps;
        budget_s: time budget in seconds (counted from construction); warmup: warm-up fraction;
        floor: final learning rate as a fraction of ``lr``.
    """

    def __init__(self, optimizer: Any, lr: float, total_steps: int, budget_s: float, warmup: float = 0.03,
                 floor: float = 0.01) -> None:
        self.optimizer, self.lr, self.total_steps = optimizer, lr, max(1, total_steps)
        self.budget_s, self.warmup, self.floor = max(1.0, budget_s), warmup, floor
        self.t0 = time.time()
        self.steps = 0
        self._apply()

    @property
    def progress(self) -> float:
        """Fraction of the run done (0..1)."""
        return min(1.0, max(self.steps / self.total_steps, (time.time() - self.t0) / self.budget_s))

    @property
    def finished(self) -> bool:
        """True once the planned steps or the time budget are used up."""
        return self.progress >= 1.0

    def current_lr(self) -> float:
        """The learning rate for the current progress."""
        p = self.progress
        if p < self.warmup:
            return self.lr * max(p / self.warmup, 0.01)
        q = (p - self.warmup) / max(1e-9, 1.0 - self.warmup)
        return self.lr * (self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * q)))

    def _apply(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.current_lr()

    def step(self) -> None:
        """Count one optimisation step and update the learning rate."""
        self.steps += 1
        self._apply()
