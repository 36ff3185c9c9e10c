"""Sandwich layers (Notebook 05, tasks 5.1-5.6): hand-computed cases, the composition of the
loop-based layers, and centred-difference gradients."""

import os
import subprocess
import sys

import numpy as np
import pytest

from cs_conv import layer_utils
from cs_conv.gradient_check import eval_numerical_gradient_array, rel_error
from cs_conv.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from cs_conv.layers import conv_forward_naive, max_pool_forward_naive

CONV = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}
# The lecture's "do a convolution by hand": 0..8 in a 3x3 image, kernel [[0, 1], [2, 3]],
# gives [[19, 25], [37, 43]]; a bias of -30 leaves [[-11, -5], [7, 13]] before the ReLU.
HAND_X = np.arange(9.0).reshape(1, 1, 3, 3)
HAND_W = np.arange(4.0).reshape(1, 1, 2, 2)
HAND_B = np.array([-30.0])


def numeric_grads(forward, args, dout):
    """Centred-difference gradients of sum(forward(*args) * dout) for each array argument."""
    grads = []
    for k, arg in enumerate(args):
        if not isinstance(arg, np.ndarray):
            continue
        def f(value, k=k):
            call = list(args)
            call[k] = value
            return forward(*call)[0]
        grads.append(eval_numerical_gradient_array(f, arg.copy(), dout))
    return grads


def random_case(seed, x_shape, w_shape):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])


@pytest.mark.task5_1
def test_affine_relu_forward_by_hand():
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    w = np.array([[1.0, -1.0], [2.0, 0.0]])
    b = np.array([-2.0, 1.0])
    # x @ w = [[5, -1], [1, -3]]; + b = [[3, 0], [-1, -2]]; ReLU keeps the 3.
    out, _ = affine_relu_forward(x, w, b)
    np.testing.assert_array_equal(out, [[3.0, 0.0], [0.0, 0.0]])


@pytest.mark.task5_2
def test_affine_relu_backward_by_hand_and_numerically():
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    w = np.array([[1.0, -1.0], [2.0, 0.0]])
    b = np.array([-2.0, 1.0])
    _, cache = affine_relu_forward(x, w, b)
    dx, dw, db = affine_relu_backward(np.ones((2, 2)), cache)
    # Only output (0, 0) is live: it passes w[:, 0] to x[0], x[0] to dw[:, 0] and 1 to db[0].
    np.testing.assert_array_equal(dx, [[1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(dw, [[1.0, 0.0], [2.0, 0.0]])
    np.testing.assert_array_equal(db, [1.0, 0.0])

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 2, 4)), rng.standard_normal((8, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((3, 5))
    _, cache = affine_relu_forward(x, w, b)
    for name, got, want in zip("x w b".split(), affine_relu_backward(dout, cache),
                               numeric_grads(affine_relu_forward, (x, w, b), dout), strict=True):
        assert rel_error(got, want) < 1e-7, f"affine_relu_backward: d{name} off by {rel_error(got, want):.1e}"


@pytest.mark.task5_3
def test_conv_relu_forward_by_hand():
    out, _ = conv_relu_forward(HAND_X, HAND_W, HAND_B, {"stride": 1, "pad": 0})
    np.testing.assert_array_equal(out, [[[[0.0, 0.0], [7.0, 13.0]]]])


@pytest.mark.task5_3
def test_conv_relu_forward_is_conv_then_relu():
    x, w, b = random_case(1, (2, 3, 7, 7), (4, 3, 3, 3))
    out, _ = conv_relu_forward(x, w, b, CONV)
    conv, _ = conv_forward_naive(x, w, b, CONV)
    np.testing.assert_allclose(out, np.maximum(conv, 0), rtol=1e-10, atol=1e-12)


@pytest.mark.task5_4
def test_conv_relu_backward_by_hand():
    _, cache = conv_relu_forward(HAND_X, HAND_W, HAND_B, {"stride": 1, "pad": 0})
    dx, dw, db = conv_relu_backward(np.ones((1, 1, 2, 2)), cache)
    # Live outputs: (1, 0) from window [[3, 4], [6, 7]] and (1, 1) from [[4, 5], [7, 8]].
    np.testing.assert_allclose(dw[0, 0], [[7.0, 9.0], [13.0, 15.0]])
    np.testing.assert_allclose(db, [2.0])
    np.testing.assert_allclose(dx[0, 0], [[0.0, 0.0, 0.0], [0.0, 1.0, 1.0], [2.0, 5.0, 3.0]])


@pytest.mark.task5_4
def test_conv_relu_backward_numerically():
    x, w, b = random_case(2, (2, 3, 5, 5), (3, 3, 3, 3))
    dout = np.random.default_rng(3).standard_normal((2, 3, 5, 5))
    _, cache = conv_relu_forward(x, w, b, CONV)
    forward = lambda x_, w_, b_: conv_relu_forward(x_, w_, b_, CONV)
    for name, got, want in zip("x w b".split(), conv_relu_backward(dout, cache),
                               numeric_grads(forward, (x, w, b), dout), strict=True):
        assert rel_error(got, want) < 1e-7, f"conv_relu_backward: d{name} off by {rel_error(got, want):.1e}"


@pytest.mark.task5_5
def test_conv_relu_pool_forward_by_hand():
    out, _ = conv_relu_pool_forward(HAND_X, HAND_W, HAND_B, {"stride": 1, "pad": 0}, POOL)
    np.testing.assert_array_equal(out, [[[[13.0]]]])


@pytest.mark.task5_5
def test_conv_relu_pool_forward_is_conv_relu_then_pool():
    x, w, b = random_case(4, (2, 3, 8, 8), (5, 3, 3, 3))
    out, _ = conv_relu_pool_forward(x, w, b, CONV, POOL)
    conv, _ = conv_forward_naive(x, w, b, CONV)
    pooled, _ = max_pool_forward_naive(np.maximum(conv, 0), POOL)
    assert out.shape == (2, 5, 4, 4)
    np.testing.assert_allclose(out, pooled, rtol=1e-10, atol=1e-12)


@pytest.mark.task5_6
def test_conv_relu_pool_backward_by_hand():
    _, cache = conv_relu_pool_forward(HAND_X, HAND_W, HAND_B, {"stride": 1, "pad": 0}, POOL)
    dx, dw, db = conv_relu_pool_backward(np.array([[[[1.0]]]]), cache)
    # The pool's max is output (1, 1), made by window [[4, 5], [7, 8]].
    np.testing.assert_allclose(dw[0, 0], [[4.0, 5.0], [7.0, 8.0]])
    np.testing.assert_allclose(db, [1.0])
    np.testing.assert_allclose(dx[0, 0], [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 2.0, 3.0]])


@pytest.mark.task5_6
def test_conv_relu_pool_backward_numerically():
    x, w, b = random_case(5, (2, 2, 6, 6), (3, 2, 3, 3))
    dout = np.random.default_rng(6).standard_normal((2, 3, 3, 3))
    _, cache = conv_relu_pool_forward(x, w, b, CONV, POOL)
    forward = lambda x_, w_, b_: conv_relu_pool_forward(x_, w_, b_, CONV, POOL)
    for name, got, want in zip("x w b".split(), conv_relu_pool_backward(dout, cache),
                               numeric_grads(forward, (x, w, b), dout), strict=True):
        assert rel_error(got, want) < 1e-7, f"conv_relu_pool_backward: d{name} off by {rel_error(got, want):.1e}"


def test_backend_is_reported_and_can_be_forced_to_the_loops():
    assert layer_utils.BACKEND in {"fast", "naive"}
    assert layer_utils.BACKEND_REASON
    env = dict(os.environ, CS_CONV_LAYERS="naive")
    code = "import cs_conv.layer_utils as u; print(u.BACKEND, u.conv_forward.__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(layer_utils.__file__))),
                            timeout=60)
    assert result.stdout.split() == ["naive", "conv_forward_naive"], result.stderr
