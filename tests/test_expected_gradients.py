"""A correct backward pass passes every backward case under every seed, far inside the tolerance.

The grader's expected gradients are its own centred differences (``autograder.numeric``). Their
rounding error is the one part of a verdict a student's correct code cannot control: at a step
of 1e-3 it took a correct ``conv_backward_naive`` (dilation 2) and a correct average pooling
(ceil_mode, pad 1) past the float64 tolerance of 1e-7 under some secret seeds. Here each case's
expected values, for many seeds, are compared with the reference's analytic backward passes
(tested against explicit loops and differences in ``test_layers_oracles.py``; here an oracle
that shares no arithmetic with the differences), and must agree to a tenth of the tolerance:
a correct submission keeps that margin for its own rounding.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest

from autograder import expect, judge, reference
from autograder.cases import Case
from autograder.catalog import CATALOG

SEEDS = range(30)
MARGIN = 10  # expected values agree with the oracle to tolerance / MARGIN


def analytic(function: str, dout: np.ndarray, args: tuple[Any, ...]) -> dict[str, np.ndarray]:
    """The true gradients: the reference's analytic ones (conv, pooling) or one line of algebra (affine, relu)."""
    if function.startswith("conv_backward"):
        x, w, _, param = args
        return dict(zip(("dx", "dw", "db"), reference.conv_backward(dout, x, w, param), strict=True))
    if function.startswith("max_pool_backward"):
        x, param = args
        return {"dx": reference.max_pool_backward(dout, x, param)}
    if function.startswith("avg_pool_backward"):
        x, param = args
        return {"dx": reference.avg_pool_backward(dout, x, param)}
    if function == "affine_backward":
        x, w, _ = args
        return {"dx": (dout @ w.T).reshape(x.shape), "dw": x.reshape(len(x), -1).T @ dout, "db": dout.sum(axis=0)}
    if function == "relu_backward":
        (x,) = args
        return {"dx": dout * (x > 0)}
    raise KeyError(function)


FAMILIES = ("conv_backward", "max_pool_backward", "avg_pool_backward", "affine_backward", "relu_backward")


def backward_cases() -> list[Case]:
    """Every case of a layer's backward pass (the model checks compare whole models; speed cases time)."""
    return [case for check in CATALOG if check.function.startswith(FAMILIES) for case in check.cases
            if not case.title.endswith(": speed")]


def expected_values(case: Case, seed: int, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict, tuple] | None:
    """What ``case`` expects under ``seed``: (expected gradients, the named inputs, the forward's arguments),
    caught where the case hands them to ``expect``; None for a case that judges another way."""
    seen: dict[str, Any] = {}

    def cache_for(ctx, forward_name, args, *rest, **more):
        seen["args"] = args

    def gradients(ctx, function, args, names, expected, *rest, **more):
        seen.update(names=names, expected=expected)

    monkeypatch.setattr(expect, "cache_for", cache_for)
    monkeypatch.setattr(expect, "gradients", gradients)
    case.run(types.SimpleNamespace(rng=np.random.default_rng(seed), memo={}))
    return (seen["expected"], seen["names"], seen["args"]) if "expected" in seen else None


@pytest.mark.parametrize("case", backward_cases(), ids=lambda case: case.title)
def test_a_correct_backward_pass_keeps_a_margin_under_every_seed(case, monkeypatch):
    worst = 0.0
    for seed in SEEDS:
        caught = expected_values(case, seed, monkeypatch)
        assert caught is not None, "every backward case hands its expected gradients to expect.gradients"
        expected, names, args = caught
        tol = judge.tolerance_for(names["dout"].dtype)
        truth = analytic(case.function, names["dout"].astype(np.float64),
                         tuple(a.astype(np.float64) if isinstance(a, np.ndarray) else a for a in args))
        assert truth.keys() == expected.keys()
        for name, value in truth.items():
            worst = max(worst, judge.relative_error(value, expected[name], tol.floor))
    assert worst < tol.limit / MARGIN, f"worst relative error {worst:.1e} over {len(SEEDS)} seeds"


def test_the_margin_check_catches_the_small_step_that_failed_correct_code(monkeypatch):
    # At the old step of 1e-3, the dilation-2 case crossed a tenth of the tolerance within these seeds.
    from autograder.checks import conv

    monkeypatch.setattr(conv, "LINEAR_STEP", 1e-3)
    case = next(c for c in backward_cases() if c.function == "conv_backward_naive" and c.title.endswith(": dilation 2"))
    worst = 0.0
    for seed in SEEDS:
        expected, names, args = expected_values(case, seed, monkeypatch)
        truth = analytic(case.function, names["dout"], args)
        worst = max(worst, *(judge.relative_error(truth[k], expected[k], judge.FLOAT64.floor) for k in truth))
    assert worst > judge.FLOAT64.limit / MARGIN
