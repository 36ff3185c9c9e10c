"""Planted bugs: realistic student mistakes, each a small patch of the solved sources.

Each submission must lose points on the check its bug breaks (with a message that
points at the problem) and keep every point on a check it does not touch. Only
those two functions are graded, to keep the suite quick; every ``old`` text must
occur in the solved sources, so a patch that no longer applies fails loudly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from autograder_helpers import Patch, by_function, messages

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Bug:
    id: str
    patches: list[Patch]
    breaks: str  # the function that must lose points
    keeps: str  # a function that must keep all of them
    says: str = ""  # text one of the failure messages must contain
    only_cases: tuple[str, ...] = field(default=())  # if set: exactly these cases of ``breaks`` fail


BUGS = [
    Bug("kernel flipped",
        [("layers.py", "out[n, f, i, j] = np.sum(window * w[f]) + b[f]",
          "out[n, f, i, j] = np.sum(window * w[f, :, ::-1, ::-1]) + b[f]")],
        "conv_forward_naive", "conv_backward_naive", "matches a convolution with the kernel flipped"),
    Bug("bias ignored",
        [("layers.py", "out[n, f, i, j] = np.sum(window * w[f]) + b[f]", "out[n, f, i, j] = np.sum(window * w[f])")],
        "conv_forward_naive", "affine_forward", "without the bias"),
    Bug("stride ignored in forward",
        [("layers.py", "i * sh:i * sh + dil_h * (HH - 1) + 1:dil_h,", "i:i + dil_h * (HH - 1) + 1:dil_h,")],
        "conv_forward_naive", "conv_backward_naive", "the row stride is left out"),
    Bug("stride ignored in backward",
        [("layers.py", "rows = slice(i * sh, i * sh + dil_h * (HH - 1) + 1, dil_h)",
          "rows = slice(i, i + dil_h * (HH - 1) + 1, dil_h)"),
         ("layers.py", "cols = slice(j * sw, j * sw + dil_w * (WW - 1) + 1, dil_w)",
          "cols = slice(j, j + dil_w * (WW - 1) + 1, dil_w)")],
        "conv_backward_naive", "conv_forward_naive", "windows at stride 1 in the backward pass"),
    Bug("[pad:-pad] crop breaks at pad 0",
        [("layers.py", "    dx = dxpad[:, :, ph:ph + H, pw:pw + W]\n    db = dout.sum(axis=(0, 2, 3))",
          "    dx = dxpad[:, :, ph:-ph, pw:-pw]\n    db = dout.sum(axis=(0, 2, 3))")],
        "conv_backward_naive", "conv_forward_naive", "dx is empty when pad is 0"),
    Bug("conv db not summed over the batch",
        [("layers.py", "db = dout.sum(axis=(0, 2, 3)).astype(dtype, copy=False)",
          "db = dout[0].sum(axis=(1, 2)).astype(dtype, copy=False)")],
        "conv_backward_naive", "relu_backward", "db holds one image's gradient, not the sum over the batch"),
    Bug("affine db not summed over the batch",
        [("layers.py", "db = dout.sum(axis=0)\n", "db = dout[0]\n")],
        "affine_backward", "affine_forward", "db holds one example's gradient"),
    Bug("affine dx not reshaped to x",
        [("layers.py", "dx = (dout @ w.T).reshape(x.shape)", "dx = dout @ w.T")],
        "affine_backward", "affine_forward", "dx has x flattened"),
    Bug("max-pool gradient to every tied maximum",
        [("layers.py", "                    r, s = divmod(int(np.argmax(window)), window.shape[1])\n"
                       "                    dxpad[n, c, rows.start + r, cols.start + s] += dout[n, c, i, j]",
          "                    dxpad[n, c, rows, cols] += (window == window.max()) * dout[n, c, i, j]")],
        "max_pool_backward_naive", "max_pool_forward_naive", "every tied maximum",
        only_cases=("tied maxima go to the first",)),
    Bug("max-pool gradient to the last tied maximum",
        [("layers.py", "r, s = divmod(int(np.argmax(window)), window.shape[1])",
          "r, s = divmod(window.size - 1 - int(np.argmax(window.ravel()[::-1])), window.shape[1])")],
        "max_pool_backward_naive", "avg_pool_backward_naive", "the last tied maximum",
        only_cases=("tied maxima go to the first",)),
    Bug("= instead of += with overlapping windows",
        [("layers.py", "dxpad[n, c, rows.start + r, cols.start + s] += dout[n, c, i, j]",
          "dxpad[n, c, rows.start + r, cols.start + s] = dout[n, c, i, j]")],
        "max_pool_backward_naive", "avg_pool_backward_naive", "overlapping gradients add up"),
    Bug("max pool pads with zeros",
        [("layers.py", "    xpad = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)),\n"
                       "                  constant_values=-np.inf)\n    out = np.empty(g.out_shape, dtype=dtype)",
          "    xpad = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)))\n"
          "    out = np.empty(g.out_shape, dtype=dtype)")],
        "max_pool_forward_naive", "avg_pool_forward_naive", "matches padding with zeros",
        only_cases=("pad 1, negative inputs", "ceil_mode with pad 1")),
    Bug("average pool not divided",
        [("layers.py", "out[n, c, i, j] = xpad[n, c, rows, cols].sum() / divisor",
          "out[n, c, i, j] = xpad[n, c, rows, cols].sum()")],
        "avg_pool_forward_naive", "max_pool_forward_naive", "matches the window's sum"),
    Bug("average pool backward not divided",
        [("layers.py", "dxpad[n, c, rows, cols] += dout[n, c, i, j] / divisor",
          "dxpad[n, c, rows, cols] += dout[n, c, i, j]")],
        "avg_pool_backward_naive", "avg_pool_forward_naive", "not divided by the window's size"),
    Bug("relu gradient passes at 0",
        [("layers.py", "dx = np.where(x > 0, dout, 0).astype(dout.dtype, copy=False)",
          "dx = np.where(x >= 0, dout, 0).astype(dout.dtype, copy=False)")],
        "relu_backward", "relu_forward", "where x is exactly 0",
        only_cases=("no gradient where x is exactly 0",)),
    Bug("input mutated in backward",
        [("layers.py", "dx = np.where(x > 0, dout, 0).astype(dout.dtype, copy=False)",
          "dout[x <= 0] = 0\n    dx = dout")],
        "relu_backward", "relu_forward", "modified its input dout"),
    Bug("softmax overflows on scores near 1000",
        [("layers.py", "shifted = x.astype(dtype, copy=False) - x.max(axis=1, keepdims=True)",
          "shifted = x.astype(dtype, copy=False)")],
        "softmax_loss", "relu_forward", "exp overflowed", only_cases=("scores near 1000",)),
    Bug("softmax gradient not divided by N",
        [("layers.py", "    dx /= N\n", "")],
        "softmax_loss", "affine_forward", "dx is N times too large"),
    Bug("dtype not kept",
        [("layers.py", "    out = np.empty(g.out_shape, dtype=dtype)\n    filters_per_group",
          "    out = np.empty(g.out_shape)\n    filters_per_group")],
        "conv_forward_naive", "conv_backward_naive", "out has dtype float64, expected float32",
        only_cases=("float32",)),
    Bug("im2col wrong for rectangular kernels (CS231n's bug)",
        [("im2col_cython.pyx", "dst = &cols[n, (c * HH + kh) * WW + kw, 0]",
          "dst = &cols[n, c * HH * WW + kh * HH + kw, 0]")],
        "im2col_cython", "conv_forward_naive", "CS231n's old bug",
        only_cases=("rectangular 2x3 kernel on a 5x7 input", "rectangular 3x2 kernel, stride 2",
                    "per-axis stride (2, 1) and pad (0, 2)")),
    Bug("col2im = instead of +=",
        [("im2col_cython.pyx", "dst[j] += src[i * W_out + j]", "dst[j] = src[i * W_out + j]"),
         ("im2col_cython.pyx", "dst[j * sw] += src[i * W_out + j]", "dst[j * sw] = src[i * W_out + j]")],
        "col2im_cython", "relu_forward", "overlapping gradients add up"),
    Bug("fast layer that just calls naive",
        [("fast_layers.py", "def conv_forward_fast(x, w, b, conv_param):\n",
          "def conv_forward_fast(x, w, b, conv_param):\n"
          "    from cs_conv.layers import conv_forward_naive\n"
          "    return conv_forward_naive(x, w, b, conv_param)\n")],
        "conv_forward_fast", "conv_backward_fast", "faster than the grader's plain Python loops",
        only_cases=("speed",)),
    Bug("fast conv ignores the bias (the sandwich layers are judged on the loop layers)",
        [("fast_layers.py", "        out[n0:n1] += b_col\n", "")],
        "conv_forward_fast", "conv_relu_forward", "without the bias"),
    Bug("fast max pool backward with fancy-index += (repeated winners add once)",
        [("fast_layers.py", "np.add.at(dxpad, winners.ravel(), dout[n0:n1].reshape(-1))",
          "dxpad[winners.ravel()] += dout[n0:n1].reshape(-1)")],
        "max_pool_backward_fast", "max_pool_forward_fast", "overlapping gradients add up"),
    Bug("sandwich backward skips the relu",
        [("layer_utils.py", "    da = relu_backward(ds, relu_cache)\n", "    da = ds\n")],
        "conv_relu_pool_backward", "conv_relu_pool_forward", "without the relu: call relu_backward"),
    Bug("model backward forgets the hidden relu",
        [("classifiers/cnn.py",
          'dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)',
          'dpooled, grads["W2"], grads["b2"] = affine_backward(dhidden, hidden_cache[0])')],
        "three_layer_backward", "three_layer_forward", "without the hidden layer's relu"),
    Bug("adam without bias correction",
        [("optim.py", "    m_hat = m / (1 - beta1**t)\n    v_hat = v / (1 - beta2**t)\n",
          "    m_hat = m\n    v_hat = v\n")],
        "adam", "relu_forward", "Adam without bias correction"),
]


@pytest.mark.parametrize("bug", BUGS, ids=[b.id for b in BUGS])
def test_planted_bug_loses_points_only_where_it_breaks(bug, make_submission, grade_with):
    report = grade_with(make_submission(bug.patches), only=[bug.breaks, bug.keeps])
    assert report.error is None
    totals = by_function(report)
    score, top = totals[bug.breaks]
    assert score < top, f"{bug.id}: {bug.breaks} kept all {top} points"
    kept, kept_top = totals[bug.keeps]
    assert kept == kept_top, f"{bug.id}: {bug.keeps} lost points: {messages(report, bug.keeps)}"
    found = messages(report, bug.breaks)
    assert any(bug.says in m for m in found), f"{bug.id}: no message mentions {bug.says!r}: {found}"
    if bug.only_cases:
        failed = {r.case for r in report.results if r.function == bug.breaks and not r.passed}
        assert failed == set(bug.only_cases), f"{bug.id}: failed cases {sorted(failed)}"


def test_there_are_at_least_twenty_planted_bugs():
    assert len(BUGS) >= 20
