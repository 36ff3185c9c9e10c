"""Sandwich layers: common runs of layers as one forward/backward pair.

``conv_relu`` is conv then ReLU, ``conv_relu_pool`` adds a 2x2 max pool, and
``affine_relu`` is a fully connected layer then ReLU. The cache of a sandwich is the
tuple of its layers' caches, and its backward pass runs their backward passes in
reverse order (the chain rule, one layer at a time).

The conv and pool layers are the fast im2col ones from ``cs_conv.fast_layers`` when
it imports and is implemented, else the loop-based ones from ``cs_conv.layers``.
``BACKEND`` says which ("fast" or "naive") and ``BACKEND_REASON`` why; set the
environment variable ``CS_CONV_LAYERS=naive`` (or ``fast``) before importing to choose.
"""

from __future__ import annotations

import os

import numpy as np

from cs_conv import layers
from cs_conv.layers import affine_backward, affine_forward, relu_backward, relu_forward


def _pick_backend() -> tuple[str, str, tuple]:
    """Choose the conv and max-pool layers: (name, reason, (conv_fwd, conv_bwd, pool_fwd, pool_bwd))."""
    naive = (layers.conv_forward_naive, layers.conv_backward_naive,
             layers.max_pool_forward_naive, layers.max_pool_backward_naive)
    wanted = os.environ.get("CS_CONV_LAYERS", "").strip().lower()
    if wanted == "naive":
        return "naive", "CS_CONV_LAYERS=naive", naive
    try:
        from cs_conv import fast_layers

        fast = (fast_layers.conv_forward_fast, fast_layers.conv_backward_fast,
                fast_layers.max_pool_forward_fast, fast_layers.max_pool_backward_fast)
        # In a student copy the fast layers import but may still be stubs (Notebook 04).
        x = np.zeros((1, 1, 4, 4))
        out, cache = fast[0](x, np.zeros((1, 1, 3, 3)), np.zeros(1), {"stride": 1, "pad": 1})
        fast[1](out, cache)
        out, cache = fast[2](x, {"pool_height": 2, "pool_width": 2, "stride": 2})
        fast[3](out, cache)
    except Exception as error:  # not built, still a stub, or broken: the loops always work
        if wanted == "fast":
            raise ImportError(f"CS_CONV_LAYERS=fast, but the fast layers are unavailable: {error!r}") from error
        return "naive", f"cs_conv.fast_layers unavailable ({type(error).__name__}: {error})", naive
    return "fast", "cs_conv.fast_layers imported", fast


BACKEND, BACKEND_REASON, (conv_forward, conv_backward, max_pool_forward, max_pool_backward) = _pick_backend()


def affine_relu_forward(x, w, b):
    """Affine layer then ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, d_1, ..., d_k), with D = d_1 * ... * d_k
    w : ndarray of shape (D, M)
    b : ndarray of shape (M,)

    Returns
    -------
    out : ndarray of shape (N, M), ``max(0, x.reshape(N, D) @ w + b)``
    cache : (fc_cache, relu_cache)

    >>> out, _ = affine_relu_forward(np.ones((2, 3)), np.ones((3, 4)), -np.arange(4.0) * 2)
    >>> out
    array([[3., 1., 0., 0.],
           [3., 1., 0., 0.]])
    """
    ### BEGIN SOLUTION
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    ### END SOLUTION
    cache = (fc_cache, relu_cache)
    return out, cache


def affine_relu_backward(dout, cache):
    """Backward pass of ``affine_relu_forward``.

    Parameters
    ----------
    dout : ndarray of shape (N, M), upstream gradient
    cache : (fc_cache, relu_cache) from ``affine_relu_forward``

    Returns
    -------
    dx : ndarray of shape (N, d_1, ..., d_k)
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    """
    fc_cache, relu_cache = cache
    ### BEGIN SOLUTION
    da = relu_backward(dout, relu_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    ### END SOLUTION
    return dx, dw, db


def conv_relu_forward(x, w, b, conv_param):
    """Convolution then ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    conv_param : dict with ``stride`` and ``pad``, as for ``conv_forward``

    Returns
    -------
    out : ndarray of shape (N, F, H_out, W_out), with the conv layer's H_out and W_out
    cache : (conv_cache, relu_cache)

    >>> out, _ = conv_relu_forward(np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3)), np.zeros(4),
    ...                            {"stride": 1, "pad": 1})
    >>> out.shape
    (2, 4, 8, 8)
    """
    ### BEGIN SOLUTION
    a, conv_cache = conv_forward(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    ### END SOLUTION
    cache = (conv_cache, relu_cache)
    return out, cache


def conv_relu_backward(dout, cache):
    """Backward pass of ``conv_relu_forward``.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out), upstream gradient
    cache : (conv_cache, relu_cache) from ``conv_relu_forward``

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
    """
    conv_cache, relu_cache = cache
    ### BEGIN SOLUTION
    da = relu_backward(dout, relu_cache)
    dx, dw, db = conv_backward(da, conv_cache)
    ### END SOLUTION
    return dx, dw, db


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, then max pooling.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    conv_param : dict with ``stride`` and ``pad``
    pool_param : dict with ``pool_height``, ``pool_width`` and ``stride``

    Returns
    -------
    out : ndarray of shape (N, F, H_pool, W_pool), the pooled conv output
    cache : (conv_cache, relu_cache, pool_cache)

    >>> out, _ = conv_relu_pool_forward(np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3)), np.zeros(4),
    ...     {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2})
    >>> out.shape
    (2, 4, 4, 4)
    """
    ### BEGIN SOLUTION
    a, conv_cache = conv_forward(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward(s, pool_param)
    ### END SOLUTION
    cache = (conv_cache, relu_cache, pool_cache)
    return out, cache


def conv_relu_pool_backward(dout, cache):
    """Backward pass of ``conv_relu_pool_forward``.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_pool, W_pool), upstream gradient
    cache : (conv_cache, relu_cache, pool_cache) from ``conv_relu_pool_forward``

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    dw : ndarray of shape (F, C, HH, WW)
    db : ndarray of shape (F,)
    """
    conv_cache, relu_cache, pool_cache = cache
    ### BEGIN SOLUTION
    ds = max_pool_backward(dout, pool_cache)
    da = relu_backward(ds, relu_cache)
    dx, dw, db = conv_backward(da, conv_cache)
    ### END SOLUTION
    return dx, dw, db
