"""A five-second tour of the library: ``python -m cs_conv.tour``.

1. The lecture's toy ConvNet: the 9x9 X, its three 3x3 features, the filtered maps, ReLU
   and 2x2 stride-2 max pooling from 7x7 to 4x4.
2. A numeric gradient check of the convolution's backward pass.
3. Naive loops against the im2col layers, timed (needs the compiled extension).
"""

from __future__ import annotations

import time

import numpy as np

from cs_conv.gradient_check import eval_numerical_gradient_array, rel_error
from cs_conv.layers import conv_backward_naive, conv_forward_naive, max_pool_forward_naive, relu_forward
from cs_conv.xo import LECTURE_FILTERS, LECTURE_X


def show_x_and_o() -> None:
    print("1. The toy ConvNet on the lecture's X (features divided by 9, as in the lecture)")
    maps, _ = conv_forward_naive(LECTURE_X[None, None], LECTURE_FILTERS[:, None] / 9, np.zeros(3),
                                 {"stride": 1, "pad": 0})
    rectified, _ = relu_forward(maps)
    pooled, _ = max_pool_forward_naive(rectified, {"pool_height": 2, "pool_width": 2, "stride": 2,
                                                   "ceil_mode": True})
    with np.printoptions(precision=2, suppress=True):
        print("diagonal feature map (7x7):\n", maps[0, 0])
        print("after ReLU and 2x2 stride-2 max pooling with ceil_mode (4x4):\n", pooled[0, 0])


def show_gradient_check() -> None:
    print("\n2. conv_backward_naive against centred differences (stride 2, pad 1, 2x3 kernel)")
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 2, 3)), rng.standard_normal(4)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, _ = conv_backward_naive(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(v, w, b, conv_param)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda v: conv_forward_naive(x, v, b, conv_param)[0], w, dout)
    print(f"dx relative error {rel_error(dx, dx_num):.1e}, dw relative error {rel_error(dw, dw_num):.1e}")


def show_timing() -> None:
    print("\n3. Naive loops against im2col + matrix multiply, x (50, 3, 31, 31), 25 3x3 filters, stride 2, pad 1")
    try:
        from cs_conv.fast_layers import conv_forward_fast
    except ImportError as error:
        print(f"skipped: {error}")
        return
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((50, 3, 31, 31)), rng.standard_normal((25, 3, 3, 3)), rng.standard_normal(25)
    conv_param = {"stride": 2, "pad": 1}
    seconds = {}
    for name, forward in (("naive", conv_forward_naive), ("fast", conv_forward_fast)):
        start = time.perf_counter()
        out, _ = forward(x, w, b, conv_param)
        seconds[name] = time.perf_counter() - start
        print(f"{name:>5}: {seconds[name] * 1e3:8.1f} ms")
    print(f"speedup {seconds['naive'] / seconds['fast']:.0f}x; "
          f"same result: {np.allclose(out, conv_forward_naive(x, w, b, conv_param)[0])}")


if __name__ == "__main__":
    show_x_and_o()
    show_gradient_check()
    show_timing()
