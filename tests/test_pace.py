"""The yardstick of the case time limits (``autograder.pace``): the grader's own seven-loop layer."""

from __future__ import annotations

import numpy as np

from autograder import pace, reference
from autograder.cases import Case, Context
from autograder.checks import conv
from autograder.numeric import numeric_gradient


def test_the_seven_loop_yardstick_computes_the_backward_pass():
    # Checked against centred differences, not the reference's einsum: the yardstick is timed, but it
    # must be the layer it claims to be.
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3)
    param = {"stride": 2, "pad": 1}
    dout = rng.standard_normal(reference.conv_forward(x, w, b, param).shape)
    dx, dw, db = reference.conv_backward_scalar_loops(dout, x, w, param)
    np.testing.assert_allclose(dx, numeric_gradient(lambda v: reference.conv_forward(v, w, b, param), x, dout, 1e-3),
                               rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dw, numeric_gradient(lambda v: reference.conv_forward(x, v, b, param), w, dout, 1e-3),
                               rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)))


def test_work_counts_are_the_loops_multiply_adds():
    # Hand-counted: 1 image x 2 filters x 12 output cells x 3 channels x 4 taps = 288 forward, twice back.
    assert pace.conv_work((1, 3, 4, 5), (2, 3, 2, 2), (1, 2, 3, 4), backward=False) == 288
    assert pace.conv_work((1, 3, 4, 5), (2, 3, 2, 2), (1, 2, 3, 4), backward=True) == 576
    assert pace.pool_work((2, 3, 4, 4), (2, 3)) == 2 * 3 * 16 * 6


def test_a_case_limit_is_the_floor_or_a_multiple_of_the_loops_whichever_is_longer(monkeypatch):
    monkeypatch.setattr(pace, "seconds_per_multiply_add", lambda: 1e-6)
    big = Case("conv_backward_naive", "big", 1, lambda ctx: None, work=2_000_000)  # 20 x 2 s = 40 s
    small = Case("conv_backward_naive", "small", 1, lambda ctx: None, work=1000)
    budget = type("B", (), {"deadline": None})()
    assert Context(None, "m", big, 0, 20.0, budget).limit == 40.0
    assert Context(None, "m", small, 0, 20.0, budget).limit == 20.0


def test_the_largest_conv_case_carries_its_work():
    larger = next(c for c in conv.backward_cases("conv_backward_naive") if c.name == "larger random")
    out = (4, 6, 16, 16)
    assert larger.work == pace.conv_work((4, 3, 16, 16), (6, 3, 5, 5), out, False) + \
        pace.conv_work((4, 3, 16, 16), (6, 3, 5, 5), out, True)
