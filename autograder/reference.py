"""The grader's own layers, written independently of ``cs_conv``.

Nothing here imports ``cs_conv``: a bug in the solved kit must not become the
standard students are judged by. The technique differs on purpose from the
kit's loops: every window is gathered at once with integer index arrays, the
forward passes are ``einsum`` contractions over those gathers, and the
backward passes scatter with ``np.add.at``. Everything is computed in float64.

Conventions (PyTorch's, as README.md's "Semantics" states them): cross-correlation with output
size ``(H + 2P - D*(HH - 1) - 1) // S + 1``; pooling pads with -inf (max) or
zeros (average), ``ceil_mode`` drops a last window that would start in the
right padding, the average divides by the window clipped to the padded input
(``count_include_pad=True``), and a max-pool window's gradient goes to its
first maximum in row-major order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Pair = tuple[int, int]
Array = np.ndarray


def pair(value: int | tuple[int, int] | list[int]) -> Pair:
    """An int or a pair as an ``(height, width)`` pair."""
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


# ---------------------------------------------------------------- fully connected, relu, softmax


def affine_forward(x: Array, w: Array, b: Array) -> Array:
    return np.einsum("nd,dm->nm", _f64(x).reshape(len(x), -1), _f64(w)) + _f64(b)


def affine_backward(dout: Array, x: Array, w: Array) -> tuple[Array, Array, Array]:
    dout, flat = _f64(dout), _f64(x).reshape(len(x), -1)
    dx = np.einsum("nm,dm->nd", dout, _f64(w)).reshape(x.shape)
    return dx, np.einsum("nd,nm->dm", flat, dout), dout.sum(axis=0)


def relu_forward(x: Array) -> Array:
    x = _f64(x)
    return np.where(x > 0, x, 0.0)


def relu_backward(dout: Array, x: Array) -> Array:
    return np.where(_f64(x) > 0, _f64(dout), 0.0)


def softmax_loss(x: Array, y: Array) -> tuple[float, Array]:
    """Mean cross-entropy and its gradient, via a max-shifted log-sum-exp."""
    x = _f64(x)
    n = x.shape[0]
    top = x.max(axis=1, keepdims=True)
    log_z = top + np.log(np.exp(x - top).sum(axis=1, keepdims=True))
    log_p = x - log_z
    loss = -float(log_p[np.arange(n), y].sum()) / n
    grad = np.exp(log_p)
    grad[np.arange(n), y] -= 1.0
    return loss, grad / n


# ---------------------------------------------------------------- convolution


@dataclass(frozen=True)
class ConvShape:
    stride: Pair
    pad: Pair
    dilation: Pair
    groups: int

    @staticmethod
    def of(param: dict) -> ConvShape:
        return ConvShape(pair(param.get("stride", 1)), pair(param.get("pad", 0)),
                         pair(param.get("dilation", 1)), int(param.get("groups", 1)))


def conv_out_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _taps(size: int, kernel: int, stride: int, pad: int, dilation: int) -> Array:
    """Padded-input index of every (output position, kernel tap) along one axis: shape (out, kernel)."""
    out = conv_out_size(size, kernel, stride, pad, dilation)
    return (np.arange(out) * stride)[:, None] + (np.arange(kernel) * dilation)[None, :]


def _conv_gather(x: Array, kh: int, kw: int, s: ConvShape) -> tuple[Array, Array, Array]:
    """Every receptive field of x, shape (N, C, H_out, W_out, kh, kw), and the index arrays used."""
    rows = _taps(x.shape[2], kh, s.stride[0], s.pad[0], s.dilation[0])
    cols = _taps(x.shape[3], kw, s.stride[1], s.pad[1], s.dilation[1])
    xpad = _padded(x, (s.pad[0], s.pad[0]), (s.pad[1], s.pad[1]), 0.0)
    fields = xpad[:, :, rows[:, None, :, None], cols[None, :, None, :]]
    return fields, rows, cols


def conv_forward(x: Array, w: Array, b: Array, param: dict) -> Array:
    s = ConvShape.of(param)
    N, C = x.shape[:2]
    F, Cg, kh, kw = w.shape
    g = s.groups
    fields, _, _ = _conv_gather(x, kh, kw, s)
    Ho, Wo = fields.shape[2:4]
    fields = fields.reshape(N, g, Cg, Ho, Wo, kh, kw)
    kernels = _f64(w).reshape(g, F // g, Cg, kh, kw)
    out = np.einsum("ngchwkl,gfckl->ngfhw", fields, kernels).reshape(N, F, Ho, Wo)
    return out + _f64(b)[None, :, None, None]


def conv_backward(dout: Array, x: Array, w: Array, param: dict) -> tuple[Array, Array, Array]:
    s = ConvShape.of(param)
    N, C, H, W = x.shape
    F, Cg, kh, kw = w.shape
    g = s.groups
    fields, rows, cols = _conv_gather(x, kh, kw, s)
    Ho, Wo = fields.shape[2:4]
    grouped_dout = _f64(dout).reshape(N, g, F // g, Ho, Wo)
    fields = fields.reshape(N, g, Cg, Ho, Wo, kh, kw)
    dw = np.einsum("ngchwkl,ngfhw->gfckl", fields, grouped_dout).reshape(w.shape)
    kernels = _f64(w).reshape(g, F // g, Cg, kh, kw)
    dfields = np.einsum("ngfhw,gfckl->ngchwkl", grouped_dout, kernels).reshape(N, C, Ho, Wo, kh, kw)
    dxpad = np.zeros((N, C, H + 2 * s.pad[0], W + 2 * s.pad[1]))
    # add.at, not fancy-index assignment: overlapping fields share input cells.
    _add_at(dxpad, (slice(None), slice(None), rows[:, None, :, None], cols[None, :, None, :]), dfields)
    dx = dxpad[:, :, s.pad[0]:s.pad[0] + H, s.pad[1]:s.pad[1] + W]
    return dx, dw, _f64(dout).sum(axis=(0, 2, 3))


# ---------------------------------------------------------------- im2col layout (cs_conv/im2col.py)
#
#     cols[n, (c*HH + kh)*WW + kw, i*W_out + j] = xpad[n, c, i*S_h + kh*D_h, j*S_w + kw*D_w]


def im2col(x: Array, HH: int, WW: int, param: dict) -> Array:
    """Columns in the kit's documented layout; float32 stays float32, anything else is float64."""
    s = ConvShape.of(param)
    N, C = x.shape[:2]
    fields, _, _ = _conv_gather(x, HH, WW, s)
    Ho, Wo = fields.shape[2:4]
    cols = fields.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * HH * WW, Ho * Wo)
    return cols.astype(np.float32) if x.dtype == np.float32 else cols


def col2im(cols: Array, shape: tuple[int, int, int, int], HH: int, WW: int, param: dict) -> Array:
    """The adjoint of ``im2col``: every column entry added back onto the cell it was read from."""
    s = ConvShape.of(param)
    N, C, H, W = shape
    rows = _taps(H, HH, s.stride[0], s.pad[0], s.dilation[0])
    cols_idx = _taps(W, WW, s.stride[1], s.pad[1], s.dilation[1])
    Ho, Wo = len(rows), len(cols_idx)
    fields = _f64(cols).reshape(N, C, HH, WW, Ho, Wo).transpose(0, 1, 4, 5, 2, 3)
    dxpad = np.zeros((N, C, H + 2 * s.pad[0], W + 2 * s.pad[1]))
    _add_at(dxpad, (slice(None), slice(None), rows[:, None, :, None], cols_idx[None, :, None, :]), fields)
    return dxpad[:, :, s.pad[0]:s.pad[0] + H, s.pad[1]:s.pad[1] + W]


# ---------------------------------------------------------------- pooling


@dataclass(frozen=True)
class PoolShape:
    window: Pair
    stride: Pair
    pad: Pair
    ceil_mode: bool

    @staticmethod
    def of(param: dict) -> PoolShape:
        window = (int(param["pool_height"]), int(param["pool_width"]))
        return PoolShape(window, pair(param.get("stride", window)), pair(param.get("pad", 0)),
                         bool(param.get("ceil_mode", False)))


def pool_out_size(size: int, window: int, stride: int, pad: int, ceil_mode: bool) -> int:
    span = size + 2 * pad - window
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _pool_axis(size: int, window: int, stride: int, pad: int, ceil_mode: bool) -> tuple[Array, Array]:
    """Padded index of every (output, tap) along one axis, and each output's clipped window length."""
    out = pool_out_size(size, window, stride, pad, ceil_mode)
    starts = np.arange(out) * stride
    taps = starts[:, None] + np.arange(window)[None, :]
    lengths = np.minimum(starts + window, size + 2 * pad) - starts
    return taps, lengths


def _pool_gather(x: Array, s: PoolShape, fill: float) -> tuple[Array, Array, Array, Array, Array]:
    """Windows of shape (N, C, H_out, W_out, ph, pw) over x padded with ``fill``.

    With ``ceil_mode`` a last window may hang past the padded input; the overhang
    is filled with ``fill`` too, and ``lengths`` says how much of each window is real.
    """
    N, C, H, W = x.shape
    rows, row_len = _pool_axis(H, s.window[0], s.stride[0], s.pad[0], s.ceil_mode)
    cols, col_len = _pool_axis(W, s.window[1], s.stride[1], s.pad[1], s.ceil_mode)
    extra_h = max(0, int(rows.max()) + 1 - (H + 2 * s.pad[0]))
    extra_w = max(0, int(cols.max()) + 1 - (W + 2 * s.pad[1]))
    xpad = _padded(x, (s.pad[0], s.pad[0] + extra_h), (s.pad[1], s.pad[1] + extra_w), fill)
    windows = xpad[:, :, rows[:, None, :, None], cols[None, :, None, :]]
    return windows, rows, cols, row_len, col_len


def max_pool_forward(x: Array, param: dict) -> Array:
    windows = _pool_gather(x, PoolShape.of(param), -np.inf)[0]
    return windows.max(axis=(4, 5))


def max_pool_backward(dout: Array, x: Array, param: dict) -> Array:
    s = PoolShape.of(param)
    windows, rows, cols, _, _ = _pool_gather(x, s, -np.inf)
    N, C, Ho, Wo, ph, pw = windows.shape
    # argmax of the flattened window is the first maximum in row-major order.
    first = windows.reshape(N, C, Ho, Wo, ph * pw).argmax(axis=4)
    tap_r, tap_c = np.divmod(first, pw)
    r = rows[np.arange(Ho)[None, None, :, None], tap_r]
    c = cols[np.arange(Wo)[None, None, None, :], tap_c]
    n = np.arange(N)[:, None, None, None]
    ch = np.arange(C)[None, :, None, None]
    H, W = x.shape[2:]
    dxpad = np.zeros((N, C, H + 2 * s.pad[0] + ph, W + 2 * s.pad[1] + pw))
    _add_at(dxpad, (n, ch, r, c), _f64(dout))
    return dxpad[:, :, s.pad[0]:s.pad[0] + H, s.pad[1]:s.pad[1] + W]


def avg_pool_forward(x: Array, param: dict) -> Array:
    windows, _, _, row_len, col_len = _pool_gather(x, PoolShape.of(param), 0.0)
    return windows.sum(axis=(4, 5)) / (row_len[:, None] * col_len[None, :])


def avg_pool_backward(dout: Array, x: Array, param: dict) -> Array:
    s = PoolShape.of(param)
    windows, rows, cols, row_len, col_len = _pool_gather(x, s, 0.0)
    N, C, Ho, Wo, ph, pw = windows.shape
    share = _f64(dout) / (row_len[:, None] * col_len[None, :])
    spread = np.broadcast_to(share[:, :, :, :, None, None], windows.shape)
    H, W = x.shape[2:]
    dxpad = np.zeros((N, C, H + 2 * s.pad[0] + ph, W + 2 * s.pad[1] + pw))
    _add_at(dxpad, (slice(None), slice(None), rows[:, None, :, None], cols[None, :, None, :]), spread)
    return dxpad[:, :, s.pad[0]:s.pad[0] + H, s.pad[1]:s.pad[1] + W]


# ---------------------------------------------------------------- Adam


def adam(w: Array, dw: Array, config: dict) -> tuple[Array, dict]:
    """One Adam step (Kingma and Ba) in float64; ``config`` holds the state and is not modified."""
    lr, beta1, beta2, eps = (config.get(k, d) for k, d in
                             (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)))
    t = config.get("t", 0) + 1
    m = beta1 * config.get("m", 0.0) + (1 - beta1) * _f64(dw)
    v = beta2 * config.get("v", 0.0) + (1 - beta2) * _f64(dw) ** 2
    step = lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return _f64(w) - step, {**config, "m": m, "v": v, "t": t}


# ---------------------------------------------------------------- loop references for speed cases
#
# Plain Python loops over output cells, as a student's first version would be: the yardstick a
# fast layer must beat, never a judge of values. Stride and padding as in the speed cases.


def conv_forward_loops(x: Array, w: Array, b: Array, param: dict) -> Array:
    s = ConvShape.of(param)
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho = conv_out_size(H, kh, s.stride[0], s.pad[0], 1)
    Wo = conv_out_size(W, kw, s.stride[1], s.pad[1], 1)
    xpad = _padded(x, (s.pad[0],) * 2, (s.pad[1],) * 2, 0.0)
    out = np.empty((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    top, left = i * s.stride[0], j * s.stride[1]
                    out[n, f, i, j] = np.sum(xpad[n, :, top:top + kh, left:left + kw] * w[f]) + b[f]
    return out


def conv_backward_loops(dout: Array, x: Array, w: Array, param: dict) -> tuple[Array, Array, Array]:
    s = ConvShape.of(param)
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    xpad = _padded(x, (s.pad[0],) * 2, (s.pad[1],) * 2, 0.0)
    dxpad, dw = np.zeros_like(xpad), np.zeros(w.shape)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    top, left = i * s.stride[0], j * s.stride[1]
                    dw[f] += dout[n, f, i, j] * xpad[n, :, top:top + kh, left:left + kw]
                    dxpad[n, :, top:top + kh, left:left + kw] += dout[n, f, i, j] * w[f]
    return dxpad[:, :, s.pad[0]:s.pad[0] + H, s.pad[1]:s.pad[1] + W], dw, dout.sum(axis=(0, 2, 3))


def conv_backward_scalar_loops(dout: Array, x: Array, w: Array, param: dict) -> tuple[Array, Array, Array]:
    """The slowest honest backward pass: seven loops and two scalar multiply-adds at the innermost one.

    ``autograder.pace`` times it to set the time limits of the cases (stride and padding only).
    """
    s = ConvShape.of(param)
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    xpad = _padded(x, (s.pad[0],) * 2, (s.pad[1],) * 2, 0.0)
    dxpad, dw, db = np.zeros_like(xpad), np.zeros(w.shape), np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    g = dout[n, f, i, j]
                    db[f] += g
                    for c in range(C):
                        for p in range(kh):
                            for q in range(kw):
                                r, t = i * s.stride[0] + p, j * s.stride[1] + q
                                dw[f, c, p, q] += g * xpad[n, c, r, t]
                                dxpad[n, c, r, t] += g * w[f, c, p, q]
    return dxpad[:, :, s.pad[0]:s.pad[0] + H, s.pad[1]:s.pad[1] + W], dw, db


def pool_forward_loops(x: Array, param: dict, kind: str) -> Array:
    """Max (``kind="max"``) or average pooling without padding, one window at a time."""
    s = PoolShape.of(param)
    N, C, H, W = x.shape
    (ph, pw), (sh, sw) = s.window, s.stride
    Ho, Wo = pool_out_size(H, ph, sh, 0, False), pool_out_size(W, pw, sw, 0, False)
    out = np.empty((N, C, Ho, Wo))
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * sh:i * sh + ph, j * sw:j * sw + pw]
                    out[n, c, i, j] = window.max() if kind == "max" else window.sum() / (ph * pw)
    return out


def pool_backward_loops(dout: Array, x: Array, param: dict, kind: str) -> Array:
    s = PoolShape.of(param)
    N, C = x.shape[:2]
    (ph, pw), (sh, sw) = s.window, s.stride
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows, cols = slice(i * sh, i * sh + ph), slice(j * sw, j * sw + pw)
                    if kind == "max":
                        r, q = divmod(int(np.argmax(x[n, c, rows, cols])), pw)
                        dx[n, c, i * sh + r, j * sw + q] += dout[n, c, i, j]
                    else:
                        dx[n, c, rows, cols] += dout[n, c, i, j] / (ph * pw)
    return dx


def _padded(x: Array, rows: Pair, cols: Pair, fill: float) -> Array:
    """x in float64 with ``rows`` (top, bottom) and ``cols`` (left, right) of ``fill`` around its last two axes.

    What ``np.pad`` does, without its overhead: the numeric gradients call this thousands of times.
    """
    N, C, H, W = x.shape
    out = np.full((N, C, H + rows[0] + rows[1], W + cols[0] + cols[1]), fill)
    out[:, :, rows[0]:rows[0] + H, cols[0]:cols[0] + W] = x
    return out


def _add_at(target: Array, index: Any, values: Array) -> None:
    """``target[index] += values`` where indices repeat (NumPy's stubs do not type index tuples)."""
    np.add.at(target, index, values)


def _f64(a: Array) -> Array:
    return np.asarray(a, dtype=np.float64)

