"""autograder/reference.py, the grader's own layers, checked three ways: against the grader's
centred differences, against the solved kit (which has its own tests), and on hand-traceable
inputs; and its loop yardsticks, which time and must compute the same layers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import judge, reference
from autograder.numeric import KINK_FREE_STEP, LINEAR_STEP, numeric_gradient
from cs_conv import im2col as kit_im2col
from cs_conv import layers


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return judge.relative_error(a, b, judge.FLOAT64.floor)


@st.composite
def conv_problems(draw):
    groups = draw(st.sampled_from([1, 2]))
    C = groups * draw(st.integers(1, 2))
    F = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    param = {"stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
             "pad": (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
             "dilation": draw(st.integers(1, 2)), "groups": groups}
    H = draw(st.integers(max(1, (kh - 1) * param["dilation"] + 1 - 2 * param["pad"][0]), 7))
    W = draw(st.integers(max(1, (kw - 1) * param["dilation"] + 1 - 2 * param["pad"][1]), 7))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((draw(st.integers(1, 2)), C, H, W))
    return x, rng.standard_normal((F, C // groups, kh, kw)), rng.standard_normal(F), param


@settings(max_examples=40, deadline=None)
@given(conv_problems())
def test_reference_conv_matches_numeric_gradients_and_the_kit(problem):
    x, w, b, param = problem
    out = reference.conv_forward(x, w, b, param)
    assert rel(out, layers.conv_forward_naive(x, w, b, param)[0]) < 1e-12
    dout = np.random.default_rng(0).standard_normal(out.shape)
    dx, dw, db = reference.conv_backward(dout, x, w, param)
    assert rel(dx, numeric_gradient(lambda v: reference.conv_forward(v, w, b, param), x, dout, LINEAR_STEP)) < 1e-8
    assert rel(dw, numeric_gradient(lambda v: reference.conv_forward(x, v, b, param), w, dout, LINEAR_STEP)) < 1e-8
    assert rel(db, numeric_gradient(lambda v: reference.conv_forward(x, w, v, param), b, dout, LINEAR_STEP)) < 1e-8


@st.composite
def pool_problems(draw):
    ph, pw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    param = {"pool_height": ph, "pool_width": pw,
             "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
             "pad": (draw(st.integers(0, ph // 2)), draw(st.integers(0, pw // 2))),
             "ceil_mode": draw(st.booleans())}
    H = draw(st.integers(max(1, ph - 2 * param["pad"][0]), 7))
    W = draw(st.integers(max(1, pw - 2 * param["pad"][1]), 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), H, W)
    distinct = rng.permutation(np.prod(shape)).reshape(shape) * 0.05 - 1.0
    ties = rng.integers(-1, 2, size=shape).astype(float)
    return distinct, ties, param


@settings(max_examples=60, deadline=None)
@given(pool_problems())
def test_reference_pooling_matches_numeric_gradients_and_the_kit(problem):
    x, ties, param = problem
    for kind in ("max", "avg"):
        forward = getattr(reference, f"{kind}_pool_forward")
        backward = getattr(reference, f"{kind}_pool_backward")
        kit_forward = getattr(layers, f"{kind}_pool_forward_naive")
        kit_backward = getattr(layers, f"{kind}_pool_backward_naive")
        out, cache = kit_forward(x, param)
        assert rel(forward(x, param), out) < 1e-12
        dout = np.random.default_rng(1).standard_normal(out.shape)
        numeric = numeric_gradient(lambda v, forward=forward: forward(v, param), x, dout, KINK_FREE_STEP)
        assert rel(backward(dout, x, param), numeric) < 1e-8
        # Tied windows: the first maximum in row-major order, as the kit (and PyTorch) do.
        _, tie_cache = kit_forward(ties, param)
        assert rel(backward(dout, ties, param), kit_backward(dout, tie_cache)) < 1e-12


def test_reference_basic_layers_match_numeric_gradients():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((3, 2, 4)), rng.standard_normal((8, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((3, 5))
    dx, dw, db = reference.affine_backward(dout, x, w)
    assert rel(dx, numeric_gradient(lambda v: reference.affine_forward(v, w, b), x, dout, LINEAR_STEP)) < 1e-9
    assert rel(dw, numeric_gradient(lambda v: reference.affine_forward(x, v, b), w, dout, LINEAR_STEP)) < 1e-9
    assert rel(db, numeric_gradient(lambda v: reference.affine_forward(x, w, v), b, dout, LINEAR_STEP)) < 1e-9
    scores, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss, dscores = reference.softmax_loss(scores, y)
    assert loss == pytest.approx(layers.softmax_loss(scores, y)[0], rel=1e-12)
    assert rel(dscores, numeric_gradient(lambda v: reference.softmax_loss(v, y)[0], scores)) < 1e-7
    huge = scores * 1e4
    assert np.isfinite(reference.softmax_loss(huge, y)[0])


def test_reference_conv_on_a_hand_traced_case():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    out = reference.conv_forward(x, w, np.array([0.5]), {"stride": 2, "pad": 0})
    # Each window's top-left minus its bottom-right is 0 - 5 = -5, plus the bias.
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), -4.5))


@pytest.mark.parametrize("kernel, param", [((2, 3), {"stride": 1, "pad": 1}),
                                           ((3, 2), {"stride": (2, 1), "pad": (0, 2), "dilation": 2})])
def test_reference_im2col_follows_the_documented_layout(kernel, param):
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 6))
    args = (param["pad"], param["stride"], param.get("dilation", 1))
    cols = reference.im2col(x, *kernel, param)
    np.testing.assert_array_equal(cols, kit_im2col.im2col(x, *kernel, *args))
    back = np.random.default_rng(6).standard_normal(cols.shape)
    folded = reference.col2im(back, x.shape, *kernel, param)
    assert rel(folded, kit_im2col.col2im(back, *x.shape, *kernel, *args)) < 1e-12
    # col2im is im2col's adjoint.
    assert np.sum(cols * back) == pytest.approx(np.sum(x * reference.col2im(back, x.shape, *kernel, param)))


def test_loop_yardsticks_compute_the_same_layers():
    # They only time, but a yardstick that computed something else would time something else.
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    param = {"stride": 1, "pad": 1}
    dout = rng.standard_normal((2, 4, 8, 8))
    assert rel(reference.conv_forward_loops(x, w, b, param), reference.conv_forward(x, w, b, param)) < 1e-12
    for got, want in zip(reference.conv_backward_loops(dout, x, w, param), reference.conv_backward(dout, x, w, param),
                         strict=True):
        assert rel(got, want) < 1e-12
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dout = rng.standard_normal((2, 3, 4, 4))
    for kind in ("max", "avg"):
        forward, backward = getattr(reference, f"{kind}_pool_forward"), getattr(reference, f"{kind}_pool_backward")
        assert rel(reference.pool_forward_loops(x, pool, kind), forward(x, pool)) < 1e-12
        assert rel(reference.pool_backward_loops(dout, x, pool, kind), backward(dout, x, pool)) < 1e-12
