"""Layers written the plain way: loops you can trace by hand.

Every layer is a forward/backward pair and the cache is its only state::

    out, cache = conv_forward_naive(x, w, b, conv_param)
    dx, dw, db = conv_backward_naive(dout, cache)

Semantics follow PyTorch: convolution is cross-correlation (no kernel flip),
output sizes use ``floor`` (see ``cs_conv.shapes``), max pooling sends the
gradient to the first maximum of a window in row-major order, outputs keep the
input's float dtype, and no input or cache is ever modified.
"""

from __future__ import annotations

import numpy as np

from cs_conv.shapes import (
    conv_geometry,
    float_dtype,
    pool_geometry,
    pool_window,
    require_ndim,
    require_shape,
)


def affine_forward(x, w, b):
    """Fully connected layer: ``out = x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    x : ndarray of shape (N, d_1, ..., d_k), with D = d_1 * ... * d_k
    w : ndarray of shape (D, M)
    b : ndarray of shape (M,)

    Returns
    -------
    out : ndarray of shape (N, M)
    cache : (x, w, b)

    >>> out, _ = affine_forward(np.ones((2, 3, 4)), np.ones((12, 5)), np.zeros(5))
    >>> out.shape
    (2, 5)
    """
    require_ndim(w, 2, "w", "(D, M)")
    if x.ndim < 1:
        raise ValueError("x must have a batch axis, got a scalar")
    N, D, M = x.shape[0], int(np.prod(x.shape[1:])), w.shape[1]
    if w.shape[0] != D:
        raise ValueError(f"w has {w.shape[0]} rows but each of x's rows has D={D} values")
    require_shape(b, (M,), "b")
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    out = x.reshape(N, D).astype(dtype, copy=False) @ w.astype(dtype, copy=False) + b.astype(dtype, copy=False)
    ### END SOLUTION
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of ``affine_forward``: dx = dout w^T, dw = x^T dout, db = sum of dout.

    Parameters
    ----------
    dout : ndarray of shape (N, M), the upstream gradient dL/dout
    cache : (x, w, b) from ``affine_forward``

    Returns
    -------
    dx : ndarray of shape (N, d_1, ..., d_k)
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    """
    x, w, b = cache
    N, D, M = x.shape[0], w.shape[0], w.shape[1]
    require_shape(dout, (N, M), "dout")
    ### BEGIN SOLUTION
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(N, D).T @ dout
    db = dout.sum(axis=0)
    ### END SOLUTION
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, elementwise: ``out = max(0, x)``.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    out : ndarray of the same shape
    cache : x
    """
    ### BEGIN SOLUTION
    out = np.maximum(x, 0)
    ### END SOLUTION
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Backward pass of ``relu_forward``: the gradient passes where x > 0 (not at 0).

    The Jacobian is diagonal, so it is never formed: dL/dx_i = dL/dout_i if x_i > 0 else 0.

    Parameters
    ----------
    dout : ndarray, upstream gradient of the same shape as x
    cache : x from ``relu_forward``

    Returns
    -------
    dx : ndarray of the same shape as x
    """
    x = cache
    require_shape(dout, x.shape, "dout")
    ### BEGIN SOLUTION
    dx = np.where(x > 0, dout, 0).astype(dout.dtype, copy=False)
    ### END SOLUTION
    return dx


def softmax_loss(x, y):
    """Mean cross-entropy of the softmax of class scores, and its gradient.

    Parameters
    ----------
    x : ndarray of shape (N, C), class scores
    y : int ndarray of shape (N,), labels with 0 <= y[i] < C

    Returns
    -------
    loss : float, ``-mean_i log softmax(x_i)[y_i]``
    dx : ndarray of shape (N, C), dloss/dx

    >>> loss, dx = softmax_loss(np.zeros((2, 10)), np.array([3, 7]))
    >>> round(loss, 4), dx.shape   # ln(10) for uniform scores
    (2.3026, (2, 10))
    """
    require_ndim(x, 2, "x", "(N, C)")
    N, C = x.shape
    require_shape(y, (N,), "y")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer labels, got dtype {y.dtype}")
    if N and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"labels must lie in [0, {C}), got values from {y.min()} to {y.max()}")
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    # Subtracting each row's max leaves the softmax unchanged and keeps exp() finite.
    shifted = x.astype(dtype, copy=False) - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    loss = float(-log_probs[rows, y].mean())
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N
    ### END SOLUTION
    return loss, dx


def conv_forward_naive(x, w, b, conv_param):
    """Convolution (cross-correlation) with loops over every output cell.

    ``out[n, f, i, j] = b[f] + sum_{c, k, l} w[f, c, k, l] * xpad[n, g*Cg + c, i*S + k*D, j*S + l*D]``
    where ``xpad`` is x zero-padded by P, ``g`` is filter f's group and ``Cg = C // groups``.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C // groups, HH, WW)
    b : ndarray of shape (F,)
    conv_param : dict
        ``stride`` S and ``pad`` P (int or (height, width) pair), optional
        ``dilation`` D (int or pair, default 1) and ``groups`` (default 1).

    Returns
    -------
    out : ndarray of shape (N, F, H_out, W_out), where
        ``H_out = (H + 2P - D(HH - 1) - 1) // S + 1`` and likewise W_out
    cache : (x, w, b, conv_param)

    >>> out, _ = conv_forward_naive(np.ones((1, 3, 32, 32)), np.ones((10, 3, 5, 5)),
    ...                             np.zeros(10), {"stride": 1, "pad": 2})
    >>> out.shape
    (1, 10, 32, 32)
    """
    g = conv_geometry(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, Cg, HH, WW = w.shape
    (sh, sw), (ph, pw), (dil_h, dil_w) = g.stride, g.pad, g.dilation
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    xpad = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.empty(g.out_shape, dtype=dtype)
    filters_per_group = F // g.groups
    for n in range(N):
        for f in range(F):
            c0 = (f // filters_per_group) * Cg
            for i in range(g.H_out):
                for j in range(g.W_out):
                    window = xpad[n, c0:c0 + Cg,
                                  i * sh:i * sh + dil_h * (HH - 1) + 1:dil_h,
                                  j * sw:j * sw + dil_w * (WW - 1) + 1:dil_w]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    ### END SOLUTION
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Backward pass of ``conv_forward_naive``, with the same loops.

    Each output cell ``out[n, f, i, j]`` used one window of ``xpad`` and filter f, so
    it adds ``dout[n, f, i, j] * window`` to ``dw[f]`` and ``dout[n, f, i, j] * w[f]``
    to that window of ``dxpad``; dx is ``dxpad`` without its padding border.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)
    cache : (x, w, b, conv_param) from ``conv_forward_naive``

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (F, C // groups, HH, WW)
    db : ndarray of shape (F,)
    """
    x, w, b, conv_param = cache
    g = conv_geometry(x, w, b, conv_param)
    require_shape(dout, g.out_shape, "dout")
    N, C, H, W = x.shape
    F, Cg, HH, WW = w.shape
    (sh, sw), (ph, pw), (dil_h, dil_w) = g.stride, g.pad, g.dilation
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    xpad = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxpad = np.zeros_like(xpad)
    dw = np.zeros(w.shape, dtype=dtype)
    filters_per_group = F // g.groups
    for n in range(N):
        for f in range(F):
            c0 = (f // filters_per_group) * Cg
            for i in range(g.H_out):
                for j in range(g.W_out):
                    rows = slice(i * sh, i * sh + dil_h * (HH - 1) + 1, dil_h)
                    cols = slice(j * sw, j * sw + dil_w * (WW - 1) + 1, dil_w)
                    dw[f] += dout[n, f, i, j] * xpad[n, c0:c0 + Cg, rows, cols]
                    # += because overlapping windows share input cells.
                    dxpad[n, c0:c0 + Cg, rows, cols] += dout[n, f, i, j] * w[f]
    # Slice the border off explicitly: [pad:-pad] would be empty when pad is 0.
    dx = dxpad[:, :, ph:ph + H, pw:pw + W]
    db = dout.sum(axis=(0, 2, 3)).astype(dtype, copy=False)
    ### END SOLUTION
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Max pooling with loops: each output cell is the largest value in its window.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    pool_param : dict
        ``pool_height``, ``pool_width``, and optional ``stride`` (default the window),
        ``pad`` (padding that never wins, default 0) and ``ceil_mode`` (default False).

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out), where
        ``H_out = (H + 2P - pool_height) // stride + 1`` (ceil with ``ceil_mode``)
    cache : (x, pool_param)

    >>> out, _ = max_pool_forward_naive(np.ones((1, 1, 7, 7)),
    ...     {"pool_height": 2, "pool_width": 2, "stride": 2, "ceil_mode": True})
    >>> out.shape
    (1, 1, 4, 4)
    """
    g = pool_geometry(x, pool_param)
    N, C, H, W = x.shape
    ph, pw = g.pad
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    xpad = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)),
                  constant_values=-np.inf)
    out = np.empty(g.out_shape, dtype=dtype)
    for n in range(N):
        for c in range(C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    rows, cols, _ = pool_window(g, i, j)
                    out[n, c, i, j] = xpad[n, c, rows, cols].max()
    ### END SOLUTION
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Backward pass of ``max_pool_forward_naive``.

    Each window's gradient goes to its first maximum in row-major order (PyTorch's
    tie rule); overlapping windows add up.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
    cache : (x, pool_param) from ``max_pool_forward_naive``

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, pool_param = cache
    g = pool_geometry(x, pool_param)
    require_shape(dout, g.out_shape, "dout")
    N, C, H, W = x.shape
    ph, pw = g.pad
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    xpad = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)),
                  constant_values=-np.inf)
    dxpad = np.zeros_like(xpad)
    for n in range(N):
        for c in range(C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    rows, cols, _ = pool_window(g, i, j)
                    window = xpad[n, c, rows, cols]
                    # argmax returns the first maximum in row-major order.
                    r, s = divmod(int(np.argmax(window)), window.shape[1])
                    dxpad[n, c, rows.start + r, cols.start + s] += dout[n, c, i, j]
    dx = dxpad[:, :, ph:ph + H, pw:pw + W]
    ### END SOLUTION
    return dx


def avg_pool_forward_naive(x, pool_param):
    """Average pooling with loops: each output cell is the mean of its window.

    Padding cells count as zeros in the mean; with ``ceil_mode`` the part of a last
    window that hangs past the padding does not (PyTorch's ``count_include_pad=True``).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    pool_param : dict, as for ``max_pool_forward_naive``

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
    cache : (x, pool_param)

    >>> out, _ = avg_pool_forward_naive(np.ones((2, 3, 6, 6)),
    ...     {"pool_height": 2, "pool_width": 2, "stride": 2})
    >>> out.shape
    (2, 3, 3, 3)
    """
    g = pool_geometry(x, pool_param)
    N, C, H, W = x.shape
    ph, pw = g.pad
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    xpad = np.pad(x.astype(dtype, copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.empty(g.out_shape, dtype=dtype)
    for n in range(N):
        for c in range(C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    rows, cols, divisor = pool_window(g, i, j)
                    out[n, c, i, j] = xpad[n, c, rows, cols].sum() / divisor
    ### END SOLUTION
    cache = (x, pool_param)
    return out, cache


def avg_pool_backward_naive(dout, cache):
    """Backward pass of ``avg_pool_forward_naive``: each window shares its gradient equally.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
    cache : (x, pool_param) from ``avg_pool_forward_naive``

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, pool_param = cache
    g = pool_geometry(x, pool_param)
    require_shape(dout, g.out_shape, "dout")
    N, C, H, W = x.shape
    ph, pw = g.pad
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    dxpad = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=dtype)
    for n in range(N):
        for c in range(C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    rows, cols, divisor = pool_window(g, i, j)
                    dxpad[n, c, rows, cols] += dout[n, c, i, j] / divisor
    dx = dxpad[:, :, ph:ph + H, pw:pw + W]
    ### END SOLUTION
    return dx
