"""The lecture notes' worked examples, entry by entry (oracle 1: tiny hand-computed cases).

Two slides carry errata, corrected here and in the notebooks:
- the matrix-backprop slide prints y = [[13, 9, -2, -6], [5, 2, 17, 1]], which is not x @ w
  (x @ w = [[-1, -1, 2, 6], [5, 2, 11, 7]]); its dL/dy is used as given.
- the 2x2 stride-2 max-pool table prints 3 for the window [[6, 2], [1, 2]], whose max is 6.
"""

import numpy as np
import pytest

from cs_conv.layers import (
    affine_backward,
    affine_forward,
    avg_pool_backward_naive,
    avg_pool_forward_naive,
    conv_forward_naive,
    max_pool_forward_naive,
    relu_backward,
    relu_forward,
)

# The lecture's 6x6 pooling example.
POOL_INPUT = np.array([
    [3, 4, 5, 6, 5, 4],
    [5, 4, 3, 3, 2, 1],
    [1, 3, 2, 4, 6, 2],
    [3, 7, 8, 5, 1, 2],
    [0, 3, 7, 8, 1, 3],
    [2, 7, 8, 3, 4, 0],
], dtype=float)[None, None]

# The toy ConvNet's 9x9 X (1 = ink, -1 = background) and its three 3x3 features.
X_IMAGE = -np.ones((9, 9))
for k in range(1, 8):
    X_IMAGE[k, k] = X_IMAGE[k, 8 - k] = 1
DIAGONAL = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
CROSS = np.array([[1, -1, 1], [-1, 1, -1], [1, -1, 1]], dtype=float)
ANTI_DIAGONAL = DIAGONAL[:, ::-1]

# The lecture's filtered maps, in ninths (0.77 = 7/9, 0.55 ~ 5/9, 0.33 = 3/9, 0.11 = 1/9).
DIAGONAL_MAP_NINTHS = np.array([
    [7, -1, 1, 3, 5, -1, 3],
    [-1, 9, -1, 3, -1, 1, -1],
    [1, -1, 9, -3, 1, -1, 5],
    [3, 3, -3, 5, -3, 3, 3],
    [5, -1, 1, -3, 9, -1, 1],
    [-1, 1, -1, 3, -1, 9, -1],
    [3, -1, 5, 3, 1, -1, 7],
])
CROSS_MAP_NINTHS = np.array([
    [3, -5, 1, -1, 1, -5, 3],
    [-5, 5, -5, 3, -5, 5, -5],
    [1, -5, 5, -7, 5, -5, 1],
    [-1, 3, -7, 9, -7, 3, -1],
    [1, -5, 5, -7, 5, -5, 1],
    [-5, 5, -5, 3, -5, 5, -5],
    [3, -5, 1, -1, 1, -5, 3],
])
ANTI_DIAGONAL_MAP_NINTHS = DIAGONAL_MAP_NINTHS[:, ::-1]
# "2x2, stride 2" pooling of each 7x7 map to 4x4 (the last row/column is a 1-wide window).
POOLED_NINTHS = np.array([
    [[9, 3, 5, 3], [3, 9, 3, 5], [5, 3, 9, 1], [3, 5, 1, 7]],
    [[5, 3, 5, 3], [3, 9, 5, 1], [5, 5, 5, 1], [3, 1, 1, 3]],
    [[3, 5, 9, 7], [5, 5, 9, 3], [9, 9, 1, 5], [7, 3, 5, 3]],
])
POOL_2X2 = {"pool_height": 2, "pool_width": 2, "stride": 2}


@pytest.mark.task1_1
@pytest.mark.task1_2
def test_matrix_backprop_example():
    x = np.array([[2, 1, -3], [-3, 4, 2]], dtype=float)
    w = np.array([[3, 2, 1, -1], [2, 1, 3, 2], [3, 2, 1, -2]], dtype=float)
    dy = np.array([[2, 3, -3, 9], [-8, 1, 4, 6]], dtype=float)
    y, cache = affine_forward(x, w, np.zeros(4))
    np.testing.assert_array_equal(y, [[-1, -1, 2, 6], [5, 2, 11, 7]])
    dx, dw, db = affine_backward(dy, cache)
    np.testing.assert_array_equal(dx, [[0, 16, -9], [-24, 9, -30]], err_msg="dL/dx = dL/dy w^T")
    np.testing.assert_array_equal(dw, [[28, 3, -18, 0], [-30, 7, 13, 33], [-22, -7, 17, -15]],
                                  err_msg="dL/dw = x^T dL/dy")
    np.testing.assert_array_equal(db, [-6, 4, 1, 15])


@pytest.mark.task1_3
@pytest.mark.task1_4
def test_relu_example_with_upstream_gradient():
    x = np.array([1.0, -2.0, 3.0, -1.0])
    z, cache = relu_forward(x)
    np.testing.assert_array_equal(z, [1, 0, 3, 0])
    np.testing.assert_array_equal(relu_backward(np.array([4.0, -1.0, 5.0, 9.0]), cache), [4, 0, 5, 0])


@pytest.mark.task2_1
def test_convolution_by_hand():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.arange(4.0).reshape(1, 1, 2, 2)
    out, _ = conv_forward_naive(x, w, np.zeros(1), {"stride": 1, "pad": 0})
    np.testing.assert_array_equal(out[0, 0], [[19, 25], [37, 43]])


@pytest.mark.task2_1
def test_vertical_edge_filter_on_the_lectures_step_image():
    # 6x6 image, left half 1s, with the [1, 0, -1] column filter: the edge lights up as 3s.
    image = np.zeros((1, 1, 6, 6))
    image[..., :3] = 1
    edge = np.array([[1.0, 0, -1]] * 3)[None, None]
    out, _ = conv_forward_naive(image, edge, np.zeros(1), {"stride": 1, "pad": 0})
    np.testing.assert_array_equal(out[0, 0], [[0, 3, 3, 0]] * 4)


@pytest.mark.task2_1
def test_lecture_output_size_and_parameter_count():
    # 32x32x3 input, 10 5x5 filters, stride 1, pad 2 -> 32x32x10 with 76 * 10 = 760 parameters.
    w, b = np.zeros((10, 3, 5, 5)), np.zeros(10)
    out, _ = conv_forward_naive(np.zeros((1, 3, 32, 32)), w, b, {"stride": 1, "pad": 2})
    assert out.shape == (1, 10, 32, 32)
    assert w.size + b.size == 760


@pytest.mark.task2_1
def test_x_and_o_filter_maps():
    x = X_IMAGE[None, None]
    w = np.stack([DIAGONAL, CROSS, ANTI_DIAGONAL])[:, None] / 9
    maps, _ = conv_forward_naive(x, w, np.zeros(3), {"stride": 1, "pad": 0})
    expected = np.stack([DIAGONAL_MAP_NINTHS, CROSS_MAP_NINTHS, ANTI_DIAGONAL_MAP_NINTHS])
    np.testing.assert_allclose(maps[0] * 9, expected, atol=1e-12)


@pytest.mark.task3_1
def test_x_and_o_maps_pool_from_7x7_to_4x4():
    maps = np.stack([DIAGONAL_MAP_NINTHS, CROSS_MAP_NINTHS, ANTI_DIAGONAL_MAP_NINTHS])[None] / 9
    pooled, _ = max_pool_forward_naive(maps, {**POOL_2X2, "ceil_mode": True})
    np.testing.assert_allclose(pooled[0] * 9, POOLED_NINTHS, atol=1e-12)
    floor_pooled, _ = max_pool_forward_naive(maps, POOL_2X2)
    assert floor_pooled.shape == (1, 3, 3, 3), "without ceil_mode the last row and column are dropped"


@pytest.mark.task3_1
def test_max_pool_table():
    out, _ = max_pool_forward_naive(POOL_INPUT, POOL_2X2)
    np.testing.assert_array_equal(out[0, 0], [[5, 6, 5], [7, 8, 6], [7, 8, 4]])


@pytest.mark.task3_3
def test_average_pool_table():
    out, _ = avg_pool_forward_naive(POOL_INPUT, POOL_2X2)
    np.testing.assert_array_equal(out[0, 0], [[4, 4.25, 3], [3.5, 4.75, 2.75], [3, 6.5, 2]])


@pytest.mark.task3_4
def test_overlapping_average_pool_backprop_f3_s2():
    # The lecture's 5x5 -> 2x2 case: a_11 gets dz_11 / 9, a_23 gets (dz_11 + dz_12) / 9,
    # and the centre a_33 sits in all four windows.
    a = np.arange(25.0).reshape(1, 1, 5, 5)
    _, cache = avg_pool_forward_naive(a, {"pool_height": 3, "pool_width": 3, "stride": 2})
    dz = np.array([[1.0, 10.0], [100.0, 1000.0]])[None, None]
    da = avg_pool_backward_naive(dz, cache)[0, 0]
    assert da[0, 0] == pytest.approx(1 / 9)
    assert da[1, 2] == pytest.approx((1 + 10) / 9)
    assert da[2, 2] == pytest.approx(1111 / 9)
    assert da[4, 4] == pytest.approx(1000 / 9)
    assert da.sum() == pytest.approx(1111.0)
