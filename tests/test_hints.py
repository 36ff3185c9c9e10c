"""Misconception hints (``autograder.hints``): each is said for its mistake, and for nothing correct.

Every mistake here is written the way a student writes it (plain loops over a CS231n-style layer),
independently of the variants in ``autograder.hints``; the right answers come from the grader's
reference, which ``test_reference`` checks against centred differences and hand-traced cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder import hints, judge, reference
from autograder.judge import FLOAT64

RNG = np.random.default_rng(12)


def conv_loops(x, w, b, stride, pad, flip=False, bias=True, steps=None):
    """A student's conv forward: ``steps`` are the row and column steps its windows actually take."""
    (sh, sw), (ph, pw) = stride, pad
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = (H + 2 * ph - HH) // sh + 1, (W + 2 * pw - WW) // sw + 1
    rs, cs = steps or (sh, sw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kernel = w[:, :, ::-1, ::-1] if flip else w
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, f, i, j] = np.sum(xp[n, :, i * rs:i * rs + HH, j * cs:j * cs + WW] * kernel[f])
                    out[n, f, i, j] += b[f] if bias else 0.0
    return out


def conv_back_loops(dout, x, w, stride, pad, assign=False, crop="right", db_one_image=False, steps=None):
    (sh, sw), (ph, pw) = stride, pad
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    rs, cs = steps or (sh, sw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = (n, slice(None), slice(i * rs, i * rs + HH), slice(j * cs, j * cs + WW))
                    dw[f] += dout[n, f, i, j] * xp[window]
                    if assign:
                        dxp[window] = dout[n, f, i, j] * w[f]
                    else:
                        dxp[window] += dout[n, f, i, j] * w[f]
    dx = dxp[:, :, ph:-ph, pw:-pw] if crop == "minus" else dxp[:, :, ph:ph + H, pw:pw + W]
    db = dout[0].sum(axis=(1, 2)) if db_one_image else dout.sum(axis=(0, 2, 3))
    return {"dx": dx, "dw": dw, "db": db}


def conv_case(x_shape, w_shape, stride, pad):
    x, w, b = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape), RNG.standard_normal(w_shape[0])
    param = {"stride": stride, "pad": pad}
    s = reference.ConvShape.of(param)
    return x, w, b, param, s.stride, s.pad


@pytest.mark.parametrize("mistake, says", [
    ({"flip": True}, "kernel flipped"),
    ({"bias": False}, "without the bias"),
    ({"steps": (1, 1)}, "windows at stride 1"),
    ({"steps": (1, 1), "stride": (1, 2)}, "the width stride is taken from the height"),
    ({"steps": (1, 1), "stride": (2, 1)}, "the height stride is taken from the width"),
    ({"steps": (1, 1), "stride": (2, 1)}, "or the row stride is left out"),  # the same answer: both are named
    ({"steps": (1, 2)}, "the row stride is left out"),
])
def test_conv_forward_hints(mistake, says):
    stride = mistake.pop("stride", (2, 2))
    x, w, b, param, st, pd = conv_case((2, 2, 7, 9), (3, 2, 3, 3), stride, 1)
    expected = reference.conv_forward(x, w, b, param)
    said = hints.conv_forward(x, w, b, param, expected, FLOAT64)
    got = conv_loops(x, w, b, st, pd, **mistake)
    assert says in said({"out": got})
    assert said({"out": expected}) is None
    assert said({"out": conv_loops(x, w, b, st, pd)}) is None  # the right loops, independent of the reference


def test_conv_forward_floor_and_shape_hints():
    x, w, b, param, _, _ = conv_case((2, 3, 6, 8), (2, 3, 3, 3), 2, 0)
    expected = reference.conv_forward(x, w, b, param)  # (2, 2, 2, 3): (6-3)/2 = 1.5 rounds down
    said = hints.conv_forward(x, w, b, param, expected, FLOAT64)
    assert "round" in said({"out": np.zeros((2, 2, 3, 4))})  # ceil of 1.5 and 2.5
    assert "used for its width too" in said({"out": np.zeros((2, 2, 2, 2))})
    assert said({"out": np.zeros((2, 2, 5, 5))}) is None  # a wrong shape no mistake here makes


@pytest.mark.parametrize("mistake, says", [
    ({"assign": True}, "overlapping gradients add up"),
    ({"db_one_image": True}, "db holds one image's gradient, not the sum over the batch"),
    ({"steps": (1, 1)}, "windows at stride 1 in the backward pass"),
])
def test_conv_backward_hints(mistake, says):
    x, w, b, param, st, pd = conv_case((2, 2, 7, 7), (3, 2, 3, 3), 2, 1)
    dout = RNG.standard_normal(reference.conv_forward(x, w, b, param).shape)
    dx, dw, db = reference.conv_backward(dout, x, w, param)
    expected = {"dx": dx, "dw": dw, "db": db}
    said = hints.conv_backward(dout, x, w, param, expected, FLOAT64)
    assert says in said(conv_back_loops(dout, x, w, st, pd, **mistake))
    assert said(expected) is None
    assert said(conv_back_loops(dout, x, w, st, pd)) is None


def test_conv_forward_hints_for_a_dilation_and_groups_left_out():
    x, w, b = RNG.standard_normal((2, 4, 9, 9)), RNG.standard_normal((4, 2, 3, 3)), RNG.standard_normal(4)
    dilated = {"stride": 1, "pad": 1, "dilation": 2}
    expected = reference.conv_forward(x, w[:, :1].repeat(4, axis=1), b, dilated)
    said = hints.conv_forward(x, w[:, :1].repeat(4, axis=1), b, dilated, expected, FLOAT64)
    assert "without its dilation" in said({"out": conv_loops(x, w[:, :1].repeat(4, axis=1), b, (1, 1), (1, 1))})
    assert said({"out": expected}) is None
    grouped = {"stride": 1, "pad": 1, "groups": 2}
    expected = reference.conv_forward(x, w, b, grouped)
    said = hints.conv_forward(x, w, b, grouped, expected, FLOAT64)
    # Every filter over the first two channels, as a student who forgot the groups writes it.
    assert "every filter reads the first 2 channels" in said({"out": conv_loops(x[:, :2], w, b, (1, 1), (1, 1))})
    assert said({"out": expected}) is None


def test_conv_backward_hints_for_a_dilation_and_groups_left_out():
    x, w, b = RNG.standard_normal((2, 4, 9, 9)), RNG.standard_normal((4, 2, 3, 3)), RNG.standard_normal(4)
    grouped = {"stride": 1, "pad": 1, "groups": 2}
    dout = RNG.standard_normal(reference.conv_forward(x, w, b, grouped).shape)
    dx, dw, db = reference.conv_backward(dout, x, w, grouped)
    said = hints.conv_backward(dout, x, w, grouped, {"dx": dx, "dw": dw, "db": db}, FLOAT64)
    forgot = conv_back_loops(dout, x[:, :2], w, (1, 1), (1, 1))
    dx_all = np.zeros_like(x)
    dx_all[:, :2] = forgot["dx"]
    assert "every filter reads the first 2 channels" in said({"dx": dx_all, "dw": forgot["dw"], "db": db})
    assert said({"dx": dx, "dw": dw, "db": db}) is None
    narrow = w[:, :1].repeat(4, axis=1)  # one group: C channels per filter
    dilated = {"stride": 1, "pad": 2, "dilation": 2}
    dout = RNG.standard_normal(reference.conv_forward(x, narrow, b, dilated).shape)
    dx, dw, db = reference.conv_backward(dout, x, narrow, dilated)
    said = hints.conv_backward(dout, x, narrow, dilated, {"dx": dx, "dw": dw, "db": db}, FLOAT64)
    assert "without the dilation" in said(conv_back_loops(dout, x, narrow, (1, 1), (2, 2)))
    assert said({"dx": dx, "dw": dw, "db": db}) is None


def test_dx_is_empty_when_pad_is_0():
    x, w, b, param, st, pd = conv_case((2, 2, 7, 7), (3, 2, 3, 3), 2, 0)
    dout = RNG.standard_normal(reference.conv_forward(x, w, b, param).shape)
    dx, dw, db = reference.conv_backward(dout, x, w, param)
    said = hints.conv_backward(dout, x, w, param, {"dx": dx, "dw": dw, "db": db}, FLOAT64)
    wrong = conv_back_loops(dout, x, w, st, pd, crop="minus")
    assert wrong["dx"].shape == (2, 2, 0, 0)
    assert "dx is empty when pad is 0" in said(wrong)
    # With pad 1 the same crop is right, and says nothing.
    x, w, b, param, st, pd = conv_case((2, 2, 7, 7), (3, 2, 3, 3), 2, 1)
    dout = RNG.standard_normal(reference.conv_forward(x, w, b, param).shape)
    dx, dw, db = reference.conv_backward(dout, x, w, param)
    right = conv_back_loops(dout, x, w, st, pd, crop="minus")
    assert hints.conv_backward(dout, x, w, param, {"dx": dx, "dw": dw, "db": db}, FLOAT64)(right) is None


def max_pool_back_loops(dout, x, ph, pw, s, route):
    dx = np.zeros_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
                    if route == "mask =":  # CS231n's common dx[window] = (window == max) * dout
                        dx[n, c, i * s:i * s + ph, j * s:j * s + pw] = (window == window.max()) * dout[n, c, i, j]
                        continue
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    if route == "=":
                        dx[n, c, i * s + r, j * s + q] = dout[n, c, i, j]
                    else:
                        dx[n, c, i * s + r, j * s + q] += dout[n, c, i, j]
    return dx


@pytest.mark.parametrize("route", ["=", "mask ="])
def test_overlapping_windows_that_share_a_maximum(route):
    x = (10 * np.arange(5)[:, None] + np.arange(5)[None, :]).astype(float)[None, None]
    x[0, 0, 2, 2] = 100.0  # the centre is the maximum of all four 3x3 windows (stride 2)
    param = {"pool_height": 3, "pool_width": 3, "stride": 2}
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = reference.max_pool_backward(dout, x, param)
    assert expected[0, 0, 2, 2] == 10.0  # hand-traced: 1 + 2 + 3 + 4
    said = hints.max_pool_backward(dout, x, param, expected, FLOAT64)
    wrong = max_pool_back_loops(dout, x, 3, 3, 2, route)
    assert "overlapping gradients add up" in said({"dx": wrong})
    assert said({"dx": max_pool_back_loops(dout, x, 3, 3, 2, "+=")}) is None


def test_max_pool_forward_zero_padding_and_shapes():
    x = -1.0 - RNG.random((1, 2, 5, 5))
    param = {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1}
    expected = reference.max_pool_forward(x, param)
    said = hints.max_pool_forward(x, param, expected, judge.EXACT)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    zeros = np.array([[[[padded[n, c, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max() for j in range(3)] for i in range(3)]
                       for c in range(2)] for n in range(1)])
    assert "padding with zeros" in said({"out": zeros})
    assert said({"out": expected}) is None
    x = RNG.standard_normal((2, 2, 8, 6))
    param = {"pool_height": 3, "pool_width": 2, "stride": 2}
    expected = reference.max_pool_forward(x, param)  # (2, 2, 3, 3)
    said = hints.max_pool_forward(x, param, expected, judge.EXACT)
    assert "computed from the window's height" in said({"out": np.zeros((2, 2, 3, 2))})  # (6 - 3) // 2 + 1


def test_avg_pool_hints():
    x = RNG.standard_normal((1, 2, 7, 7))
    param = {"pool_height": 2, "pool_width": 2, "stride": 2, "ceil_mode": True}
    expected = reference.avg_pool_forward(x, param)
    said = hints.avg_pool_forward(x, param, expected, FLOAT64)
    sums = np.array([[[[x[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].sum() for j in range(4)] for i in range(4)]
                      for c in range(2)]])
    assert "window's sum" in said({"out": sums})
    assert "full window where ceil_mode clips it" in said({"out": sums / 4})
    assert said({"out": expected}) is None
    dout = RNG.standard_normal(expected.shape)
    dx = reference.avg_pool_backward(dout, x, param)
    said = hints.avg_pool_backward(dout, x, param, dx, FLOAT64)
    undivided = np.zeros_like(x)
    for i in range(4):
        for j in range(4):
            undivided[0, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2] += dout[0, :, i, j, None, None]
    assert "not divided by the window's size" in said({"dx": undivided})
    assert "full window" in said({"dx": undivided / 4})
    assert said({"dx": dx}) is None


def test_relu_affine_and_softmax_hints():
    x = np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -2.0]])
    dout = np.arange(1.0, 7.0).reshape(2, 3)
    right = reference.relu_backward(dout, x)
    said = hints.relu_backward(dout, x, right, FLOAT64)
    assert "exactly 0" in said({"dx": dout * (x >= 0)})
    assert said({"dx": right}) is None

    xa, w = RNG.standard_normal((3, 2, 2)), RNG.standard_normal((4, 5))
    d = RNG.standard_normal((3, 5))
    dx, dw, db = reference.affine_backward(d, xa, w)
    said = hints.affine_backward(d, xa, {"dx": dx, "dw": dw, "db": db}, FLOAT64)
    assert "db holds one example's gradient" in said({"dx": dx, "dw": dw, "db": d[0]})
    assert "x flattened" in said({"dx": dx.reshape(3, 4), "dw": dw, "db": db})
    assert said({"dx": dx, "dw": dw, "db": db}) is None

    scores = RNG.standard_normal((8, 10)) * 25
    y = RNG.integers(0, 10, 8)
    loss, grad = reference.softmax_loss(scores, y)
    expected = {"loss": np.array(loss), "dx": grad}
    said = hints.softmax_loss(scores, y, expected, FLOAT64)
    shifted = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    capped = -np.mean(np.log(p[np.arange(8), y] + 1e-13))
    assert capped < loss - 1e-3  # some right class is below 1e-13, as is usual at scale 25
    assert "capped" in said({"loss": np.array(capped), "dx": grad})
    assert "N times too large" in said({"loss": np.array(loss), "dx": grad * 8})
    assert said(expected) is None
    with np.errstate(over="ignore", invalid="ignore"):
        big = scores + 1000.0
        naive = np.exp(big) / np.exp(big).sum(axis=1, keepdims=True)
    assert "exp overflowed" in hints.softmax_loss(big, y, expected, FLOAT64)({"loss": np.array(np.nan), "dx": naive})


def test_im2col_cs231n_bug_and_col2im_overwrite():
    x = RNG.standard_normal((1, 2, 5, 7))
    param = {"pad": 1, "stride": 1, "dilation": 1}
    expected = reference.im2col(x, 2, 3, param)
    wrong = np.full_like(expected, np.nan)
    for c in range(2):
        for kh in range(2):
            for kw in range(3):
                row = c * 6 + kh * 2 + kw  # CS231n: kh * HH where kh * WW belongs
                wrong[:, row] = expected[:, (c * 2 + kh) * 3 + kw]
    wrong = np.nan_to_num(wrong)  # rows never written hold whatever memory held; 0 here
    said = hints.im2col(x, 2, 3, param, expected, judge.EXACT)
    assert "CS231n's old bug" in said({"cols": wrong})
    assert said({"cols": expected}) is None
    cols = RNG.standard_normal(expected.shape)
    dx = reference.col2im(cols, x.shape, 2, 3, param)
    last = np.zeros_like(x)
    for c in range(2):
        for kh in range(2):
            for kw in range(3):
                for i in range(5):
                    for j in range(7):
                        r, z = i + kh - 1, j + kw - 1
                        if 0 <= r < 5 and 0 <= z < 7:
                            last[0, c, r, z] = cols[0, (c * 2 + kh) * 3 + kw, i * 7 + j]
    said = hints.col2im(cols, x.shape, 2, 3, param, dx, FLOAT64)
    assert "overlapping gradients add up" in said({"dx": last})
    assert said({"dx": dx}) is None
