"""Every backward pass against centred differences (oracle 2), over the geometry grid:
stride 1-3, pad 0-2 (and pairs), dilation 1-2, rectangular kernels and inputs, batch 1,
one channel, groups, overlapping and ceil-mode pools."""

import numpy as np
import pytest

from cs_conv.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from cs_conv.layers import (
    affine_backward,
    affine_forward,
    avg_pool_backward_naive,
    avg_pool_forward_naive,
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
    relu_backward,
    relu_forward,
    softmax_loss,
)

RTOL, ATOL = 1e-6, 1e-9

# (x shape, w shape, conv_param)
CONV_CASES = {
    "batch 1, one channel, 3x3": ((1, 1, 5, 5), (2, 1, 3, 3), {"stride": 1, "pad": 0}),
    "rectangular 2x3 kernel and input, stride 2, pad 1": ((2, 3, 6, 5), (3, 3, 2, 3), {"stride": 2, "pad": 1}),
    "stride 3, pad 2": ((2, 2, 7, 6), (2, 2, 3, 2), {"stride": 3, "pad": 2}),
    "dilation 2, pad (1, 2)": ((1, 2, 7, 7), (2, 2, 3, 3), {"stride": 1, "pad": (1, 2), "dilation": 2}),
    "stride (2, 1), dilation (2, 1)": ((2, 1, 8, 6), (2, 1, 2, 3), {"stride": (2, 1), "pad": 0, "dilation": (2, 1)}),
    "groups 2": ((1, 4, 5, 5), (4, 2, 3, 3), {"stride": 1, "pad": 1, "groups": 2}),
    "1x1 convolution": ((2, 3, 4, 5), (2, 3, 1, 1), {"stride": 1, "pad": 0}),
}

POOL_CASES = {
    "2x2 stride 2": ((1, 1, 4, 4), {"pool_height": 2, "pool_width": 2, "stride": 2}),
    "overlapping 3x3 stride 2": ((2, 2, 7, 7), {"pool_height": 3, "pool_width": 3, "stride": 2}),
    "rectangular 2x3 window, stride (1, 2)": ((1, 2, 5, 7), {"pool_height": 2, "pool_width": 3, "stride": (1, 2)}),
    "pad 1, 3x3 stride 2": ((1, 1, 6, 5), {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1}),
    "ceil_mode 2x2 stride 2 on 7x7": ((1, 2, 7, 7),
                                      {"pool_height": 2, "pool_width": 2, "stride": 2, "ceil_mode": True}),
    "ceil_mode with pad": ((1, 1, 6, 6), {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1, "ceil_mode": True}),
}


def distinct_values(rng, shape):
    """Values at least 0.01 apart, so no max switches under a 1e-5 nudge."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 1.0


@pytest.mark.task2_2
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_backward_matches_numeric_gradient(case):
    x_shape, w_shape, conv_param = CONV_CASES[case]
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_naive(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(v, w, b, conv_param)[0], x.copy(), dout)
    dw_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(x, v, b, conv_param)[0], w.copy(), dout)
    db_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(x, w, v, conv_param)[0], b.copy(), dout)
    np.testing.assert_allclose(dx, dx_num, RTOL, ATOL, err_msg=f"dx, {case}")
    np.testing.assert_allclose(dw, dw_num, RTOL, ATOL, err_msg=f"dw, {case}")
    np.testing.assert_allclose(db, db_num, RTOL, ATOL, err_msg=f"db, {case}")


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("forward, backward", [
    pytest.param(max_pool_forward_naive, max_pool_backward_naive, marks=pytest.mark.task3_2, id="max"),
    pytest.param(avg_pool_forward_naive, avg_pool_backward_naive, marks=pytest.mark.task3_4, id="avg"),
])
def test_pool_backward_matches_numeric_gradient(forward, backward, case):
    x_shape, pool_param = POOL_CASES[case]
    rng = np.random.default_rng(1)
    x = distinct_values(rng, x_shape)
    out, cache = forward(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx_num = eval_numerical_gradient_array(lambda v: forward(v, pool_param)[0], x.copy(), dout)
    np.testing.assert_allclose(backward(dout, cache), dx_num, RTOL, ATOL, err_msg=f"dx, {case}")


@pytest.mark.task1_2
def test_affine_backward_matches_numeric_gradient():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((3, 2, 4)), rng.standard_normal((8, 5)), rng.standard_normal(5)
    out, cache = affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = affine_backward(dout, cache)
    np.testing.assert_allclose(dx, eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x, dout),
                               RTOL, ATOL, err_msg="dx")
    np.testing.assert_allclose(dw, eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w, dout),
                               RTOL, ATOL, err_msg="dw")
    np.testing.assert_allclose(db, eval_numerical_gradient_array(lambda v: affine_forward(x, w, v)[0], b, dout),
                               RTOL, ATOL, err_msg="db")


@pytest.mark.task1_4
def test_relu_backward_matches_numeric_gradient():
    rng = np.random.default_rng(3)
    x = distinct_values(rng, (4, 6))  # no entry within 1e-5 of the kink at 0
    dout = rng.standard_normal(x.shape)
    dx_num = eval_numerical_gradient_array(lambda v: relu_forward(v)[0], x, dout)
    np.testing.assert_allclose(relu_backward(dout, relu_forward(x)[1]), dx_num, RTOL, ATOL)


@pytest.mark.task1_4
def test_relu_gradient_at_exactly_zero_is_zero():
    dx = relu_backward(np.ones(3), relu_forward(np.array([-1.0, 0.0, 1.0]))[1])
    np.testing.assert_array_equal(dx, [0, 0, 1])


@pytest.mark.task1_5
@pytest.mark.parametrize("scale", [1.0, 1e3], ids=["ordinary logits", "huge logits"])
def test_softmax_loss_gradient_matches_numeric_gradient(scale):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((5, 7)) * scale, rng.integers(7, size=5)
    loss, dx = softmax_loss(x, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dx))
    h = 1e-5 * scale
    dx_num = eval_numerical_gradient(lambda v: softmax_loss(v, y)[0], x, h=h)
    np.testing.assert_allclose(dx, dx_num, 1e-5, 1e-8)
