"""Naive layers against oracles that share no code with them (oracle 3: properties over
random small shapes), plus the contracts every layer keeps: PyTorch's tie rule, dtype
kept, inputs and caches never modified."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import correlate2d

from cs_conv import layers

SETTINGS = settings(max_examples=40, deadline=None)


def scipy_conv(x, w, b, stride, pad, dilation):
    """Conv via scipy's 2-D correlation: dilate the kernel with zeros, correlate, subsample."""
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    F, _, HH, WW = w.shape
    dilated = np.zeros((F, w.shape[1], dh * (HH - 1) + 1, dw * (WW - 1) + 1))
    dilated[:, :, ::dh, ::dw] = w
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = []
    for n in range(x.shape[0]):
        maps = [sum(correlate2d(xpad[n, c], dilated[f, c], mode="valid") for c in range(x.shape[1])) + b[f]
                for f in range(F)]
        out.append(np.stack(maps)[:, ::sh, ::sw])
    return np.stack(out)


def padded_windows(x, pool_param, fill, extra):
    """All pooling windows via sliding_window_view, after padding with ``fill`` plus ``extra``
    cells of ``fill`` on the bottom/right (room for ceil-mode windows)."""
    k = (pool_param["pool_height"], pool_param["pool_width"])
    s, p = pool_param["stride"], pool_param.get("pad", 0)
    xpad = np.pad(x, ((0, 0), (0, 0), (p, p + extra), (p, p + extra)), constant_values=fill)
    return sliding_window_view(xpad, k, axis=(2, 3))[:, :, ::s, ::s]


@st.composite
def conv_problems(draw):
    N, C, F = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    HH, WW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    H = draw(st.integers(max(1, dilation[0] * (HH - 1) + 1 - 2 * pad[0]), 9))
    W = draw(st.integers(max(1, dilation[1] * (WW - 1) + 1 - 2 * pad[1]), 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, HH, WW)), rng.standard_normal(F)
    return x, w, b, stride, pad, dilation


@st.composite
def pool_problems(draw):
    k = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    pad = draw(st.integers(0, k // 2))
    H, W = draw(st.integers(max(1, k - 2 * pad), 9)), draw(st.integers(max(1, k - 2 * pad), 9))
    ceil_mode = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W))
    return x, {"pool_height": k, "pool_width": k, "stride": stride, "pad": pad, "ceil_mode": ceil_mode}


@pytest.mark.task2_1
@SETTINGS
@given(conv_problems())
def test_conv_forward_matches_scipy(problem):
    x, w, b, stride, pad, dilation = problem
    out, _ = layers.conv_forward_naive(x, w, b, {"stride": stride, "pad": pad, "dilation": dilation})
    np.testing.assert_allclose(out, scipy_conv(x, w, b, stride, pad, dilation), rtol=1e-10, atol=1e-10)


@pytest.mark.task3_1
@SETTINGS
@given(pool_problems())
def test_max_pool_forward_matches_sliding_windows(problem):
    x, pool_param = problem
    out, _ = layers.max_pool_forward_naive(x, pool_param)
    oracle = padded_windows(x, pool_param, -np.inf, extra=pool_param["stride"]).max(axis=(-2, -1))
    np.testing.assert_array_equal(out, oracle[:, :, :out.shape[2], :out.shape[3]])


@pytest.mark.task3_3
@SETTINGS
@given(pool_problems())
def test_avg_pool_forward_matches_sliding_windows(problem):
    x, pool_param = problem
    out, _ = layers.avg_pool_forward_naive(x, pool_param)
    p, s = pool_param["pad"], pool_param["stride"]
    sums = padded_windows(x, pool_param, 0.0, extra=s).sum(axis=(-2, -1))
    # The divisor counts real and padding cells, not the ceil-mode overhang beyond the padding.
    inside = np.pad(np.ones((1, 1) + x.shape[2:]), ((0, 0), (0, 0), (p, p), (p, p)), constant_values=1.0)
    inside = np.pad(inside, ((0, 0), (0, 0), (0, s), (0, s)))
    counts = sliding_window_view(inside, (pool_param["pool_height"],) * 2, axis=(2, 3))[:, :, ::s, ::s]
    kept = (slice(None), slice(None), slice(out.shape[2]), slice(out.shape[3]))
    np.testing.assert_allclose(out, sums[kept] / counts.sum(axis=(-2, -1))[kept], rtol=1e-12)


@pytest.mark.task3_2
def test_max_pool_gradient_goes_to_first_tied_maximum():
    x = np.array([[5.0, 5.0, 1.0], [5.0, 2.0, 5.0], [0.0, 5.0, 5.0]])[None, None]
    _, cache = layers.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    dx = layers.max_pool_backward_naive(np.array([[1.0, 10.0], [100.0, 1000.0]])[None, None], cache)
    # Windows: top-left and bottom-left pick (0,0)/(1,0); top-right picks (0,1); bottom-right (1,2).
    np.testing.assert_array_equal(dx[0, 0], [[1, 10, 0], [100, 0, 1000], [0, 0, 0]])


@pytest.mark.task3_2
def test_overlapping_max_pool_windows_add_their_gradients():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0  # the centre is the max of all four 3x3 stride-2 windows
    _, cache = layers.max_pool_forward_naive(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    dx = layers.max_pool_backward_naive(np.ones((1, 1, 2, 2)), cache)
    assert dx[0, 0, 2, 2] == 4 and dx.sum() == 4


def _conv_inputs(rng, dtype):
    x, w, b = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    return (x.astype(dtype), w.astype(dtype), b.astype(dtype), {"stride": 2, "pad": (1, 0)})


LAYER_PAIRS = {
    "affine": (layers.affine_forward, layers.affine_backward,
               lambda rng, t: (rng.standard_normal((3, 2, 2)).astype(t), rng.standard_normal((4, 5)).astype(t),
                               rng.standard_normal(5).astype(t))),
    "relu": (layers.relu_forward, layers.relu_backward, lambda rng, t: (rng.standard_normal((3, 4)).astype(t),)),
    "conv": (layers.conv_forward_naive, layers.conv_backward_naive, _conv_inputs),
    "max pool": (layers.max_pool_forward_naive, layers.max_pool_backward_naive,
                 lambda rng, t: (rng.standard_normal((2, 2, 5, 5)).astype(t),
                                 {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1})),
    "avg pool": (layers.avg_pool_forward_naive, layers.avg_pool_backward_naive,
                 lambda rng, t: (rng.standard_normal((2, 2, 5, 5)).astype(t),
                                 {"pool_height": 2, "pool_width": 2, "stride": 2, "ceil_mode": True})),
}


def _snapshot(values):
    return [v.copy() if isinstance(v, np.ndarray) else dict(v) if isinstance(v, dict) else v for v in values]


def _assert_same(before, after, what):
    for old, new in zip(before, after, strict=True):
        if isinstance(old, np.ndarray):
            np.testing.assert_array_equal(new, old, err_msg=f"{what} was modified")
        else:
            assert new == old, f"{what} was modified"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer", LAYER_PAIRS)
def test_inputs_and_cache_unchanged_and_dtype_kept(layer, dtype):
    forward, backward, make_inputs = LAYER_PAIRS[layer]
    rng = np.random.default_rng(5)
    inputs = make_inputs(rng, dtype)
    before = _snapshot(inputs)
    out, cache = forward(*inputs)
    _assert_same(before, inputs, f"{layer} forward input")
    assert out.dtype == dtype, f"{layer} forward returned {out.dtype} for {np.dtype(dtype)} input"
    cache_items = cache if isinstance(cache, tuple) else (cache,)
    cache_before = _snapshot(cache_items)
    dout = rng.standard_normal(out.shape).astype(dtype)
    grads = backward(dout, cache)
    _assert_same(cache_before, cache_items, f"{layer} cache")
    dx = grads[0] if isinstance(grads, tuple) else grads
    assert dx.dtype == dtype, f"{layer} backward returned dx of {dx.dtype} for {np.dtype(dtype)} input"
    assert dx.shape == inputs[0].shape


@pytest.mark.task2_1
def test_integer_input_is_computed_in_float64():
    out, _ = layers.conv_forward_naive(np.arange(9).reshape(1, 1, 3, 3), np.ones((1, 1, 2, 2), dtype=int),
                                       np.zeros(1, dtype=int), {"stride": 1, "pad": 0})
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0], [[8, 12], [20, 24]])


@pytest.mark.task2_1
def test_float32_conv_agrees_with_float64():
    rng = np.random.default_rng(6)
    x, w, b, conv_param = _conv_inputs(rng, np.float64)
    out64, _ = layers.conv_forward_naive(x, w, b, conv_param)
    out32, _ = layers.conv_forward_naive(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32),
                                         conv_param)
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-5)
