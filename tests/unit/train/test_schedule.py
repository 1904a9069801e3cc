"""The budget-aware learning-rate schedule."""

from __future__ import annotations

import time

import pytest
import torch

from nmrlens.train.schedule import BudgetSchedule


def _opt() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.0)


def test_warmup_peak_and_cosine_decay_by_steps() -> None:
    opt = _opt()
    s = BudgetSchedule(opt, lr=1.0, total_steps=100, budget_s=1e6, warmup=0.1, floor=0.0)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        s.step()
    assert lrs[0] == pytest.approx(0.01)  # warm-up starts low
    assert max(lrs) == pytest.approx(1.0, abs=0.01) and lrs.index(max(lrs)) in (9, 10)
    assert lrs[55] == pytest.approx(0.5, abs=0.03)  # half-way through the cosine part
    assert s.finished and opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-9)


def test_time_budget_anneals_early() -> None:
    opt = _opt()
    s = BudgetSchedule(opt, lr=1.0, total_steps=10**9, budget_s=1.0, warmup=0.0, floor=0.01)  # budgets below 1 s are raised to 1 s
    assert not s.finished
    time.sleep(1.05)
    s.step()
    assert s.finished and opt.param_groups[0]["lr"] == pytest.approx(0.01)
