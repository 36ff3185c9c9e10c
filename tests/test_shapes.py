"""Output sizes and bad-input messages (cs_conv.shapes), seen through the naive layers."""

import numpy as np
import pytest

from cs_conv import layers
from cs_conv.shapes import conv_geometry, pool_geometry

OK_X, OK_W, OK_B = np.zeros((2, 3, 7, 7)), np.zeros((4, 3, 3, 3)), np.zeros(4)


@pytest.mark.parametrize("H, HH, stride, pad, dilation, expected", [
    (7, 3, 1, 0, 1, 5),    # lecture: (7 - 3) / 1 + 1
    (7, 3, 2, 0, 1, 3),    # lecture: (7 - 3) / 2 + 1
    (7, 3, 3, 0, 1, 2),    # lecture: 2.33 "doesn't fit"; PyTorch floors it to 2
    (7, 3, 1, 1, 1, 7),    # pad (F - 1) / 2 keeps the size
    (32, 5, 1, 2, 1, 32),  # lecture: 32x32x3 with 5x5 filters, pad 2
    (7, 3, 1, 0, 2, 3),    # dilation 2 makes a 3x3 kernel reach 5 cells
])
def test_conv_output_size(H, HH, stride, pad, dilation, expected):
    g = conv_geometry(np.zeros((1, 1, H, H)), np.zeros((1, 1, HH, HH)), None,
                      {"stride": stride, "pad": pad, "dilation": dilation})
    assert (g.H_out, g.W_out) == (expected, expected)


@pytest.mark.parametrize("H, k, stride, pad, ceil_mode, expected", [
    (7, 2, 2, 0, False, 3),
    (7, 2, 2, 0, True, 4),   # the toy ConvNet's 7x7 -> 4x4
    (6, 3, 2, 0, True, 3),
    (5, 3, 2, 1, True, 3),   # a last window starting inside the right padding is dropped
    (6, 2, 2, 1, True, 4),
])
def test_pool_output_size_follows_pytorch(H, k, stride, pad, ceil_mode, expected):
    g = pool_geometry(np.zeros((1, 1, H, H)),
                      {"pool_height": k, "pool_width": k, "stride": stride, "pad": pad, "ceil_mode": ceil_mode})
    assert g.H_out == expected


def conv(x=OK_X, w=OK_W, b=OK_B, **conv_param):
    return layers.conv_forward_naive(x, w, b, {"stride": 1, "pad": 0, **conv_param})


@pytest.mark.task2_1
@pytest.mark.parametrize("call, message", [
    (lambda: conv(x=np.zeros((3, 7, 7))), r"x must be 4-D \(N, C, H, W\), got shape \(3, 7, 7\)"),
    (lambda: conv(w=np.zeros((4, 3, 3))), r"w must be 4-D"),
    (lambda: conv(w=np.zeros((4, 2, 3, 3))), r"channel mismatch: w has 2 channels per filter, but x has C=3"),
    (lambda: conv(b=np.zeros(3)), r"b has shape \(3,\), expected \(4,\)"),
    (lambda: conv(stride=0), r"stride must be at least 1, got \(0, 0\)"),
    (lambda: conv(dilation=(1, 0)), r"dilation must be at least 1, got \(1, 0\)"),
    (lambda: conv(pad=-1), r"pad must be at least 0, got \(-1, -1\)"),
    (lambda: conv(pad=1.5), r"pad must be an int or a pair of ints, got 1.5"),
    (lambda: conv(x=np.zeros((1, 3, 4, 4)), w=np.zeros((4, 3, 5, 5))),
     r"kernel \(5, 5\) is larger than the padded input \(4, 4\)"),
    (lambda: conv(x=np.zeros((1, 3, 4, 4)), w=np.zeros((4, 3, 3, 3)), dilation=2),
     r"kernel \(3, 3\) \(dilated to \(5, 5\)\) is larger than the padded input \(4, 4\)"),
    (lambda: conv(groups=2), r"groups=2 does not divide the input channels C=3"),
    (lambda: conv(x=np.zeros((1, 4, 5, 5)), w=np.zeros((3, 2, 3, 3)), b=np.zeros(3), groups=2),
     r"groups=2 does not divide the number of filters F=3"),
    (lambda: conv(padding=1), r"conv_param has unknown key\(s\) \['padding'\]"),
    (lambda: conv(groups=0), r"groups must be at least 1, got 0"),
    (lambda: conv(groups=1.0), r"groups must be an int, got 1.0"),
    (lambda: conv(w=OK_W.astype(complex)), r"w must hold real numbers, got dtype complex128"),
    (lambda: conv(b=OK_B.astype(complex)), r"b must hold real numbers, got dtype complex128"),
])
def test_conv_rejects_bad_input_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.task2_2
def test_conv_backward_rejects_dout_of_the_wrong_shape():
    _, cache = conv()
    with pytest.raises(ValueError, match=r"dout has shape \(2, 4, 4, 4\), expected \(2, 4, 5, 5\)"):
        layers.conv_backward_naive(np.zeros((2, 4, 4, 4)), cache)


POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


@pytest.mark.task3_1
@pytest.mark.parametrize("x, pool_param, message", [
    (np.zeros((7, 7)), POOL, r"x must be 4-D"),
    (OK_X, {"pool_height": 2, "stride": 2}, r"pool_param needs 'pool_width'"),
    (OK_X, {**POOL, "stride": 0}, r"stride must be at least 1"),
    (OK_X, {**POOL, "pad": 2}, r"pad \(2, 2\) must be at most half the pool window \(2, 2\)"),
    (np.zeros((1, 1, 3, 3)), {"pool_height": 4, "pool_width": 2, "stride": 1},
     r"pool window \(4, 2\) is larger than the padded input \(3, 3\)"),
    (OK_X, {**POOL, "ceil_mode": "yes"}, r"ceil_mode must be True or False"),
    (OK_X, {**POOL, "pool_height": (2, 3)}, r"pool_height must be an int, got \(2, 3\)"),
    (OK_X, {**POOL, "size": 2}, r"pool_param has unknown key\(s\) \['size'\]"),
])
def test_pools_reject_bad_input_with_a_clear_message(x, pool_param, message):
    for forward in (layers.max_pool_forward_naive, layers.avg_pool_forward_naive):
        with pytest.raises(ValueError, match=message):
            forward(x, pool_param)


@pytest.mark.parametrize("call, message", [
    pytest.param(lambda: layers.affine_forward(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(5)),
                 r"w has 4 rows but each of x's rows has D=3 values", marks=pytest.mark.task1_1),
    pytest.param(lambda: layers.softmax_loss(np.zeros((2, 3)), np.array([0, 3])),
                 r"labels must lie in \[0, 3\), got values from 0 to 3", marks=pytest.mark.task1_5),
    pytest.param(lambda: layers.softmax_loss(np.zeros((2, 3)), np.array([0.0, 1.0])),
                 r"y must hold integer labels", marks=pytest.mark.task1_5),
    pytest.param(lambda: layers.relu_backward(np.zeros(3), np.zeros(4)),
                 r"dout has shape \(3,\), expected \(4,\)", marks=pytest.mark.task1_4),
    pytest.param(lambda: layers.conv_forward_naive(np.zeros((1, 1, 3, 3), dtype=complex), np.zeros((1, 1, 2, 2)),
                                                   np.zeros(1), {}),
                 r"x must hold real numbers, got dtype complex128", marks=pytest.mark.task2_1),
])
def test_other_layers_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
