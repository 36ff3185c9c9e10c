"""im2col and col2im in plain NumPy: a convolution becomes one matrix product.

Given infrastructure: students do not write this module. It is the readable
reference for the compiled kernels in ``im2col_cython.pyx`` (which must give
exactly the same arrays) and holds the checks both share.

The column layout, used everywhere in the kit
---------------------------------------------
For each image ``n`` the columns form a matrix of shape ``(C*HH*WW, H_out*W_out)``:

- row ``(c*HH + kh)*WW + kw`` is kernel tap ``(c, kh, kw)`` (rows in ``(c, kh, kw)`` order,
  which is the order of ``w[f].ravel()``),
- column ``i*W_out + j`` is output cell ``(i, j)`` (columns in ``(ho, wo)`` order),

so that::

    cols[n, (c*HH + kh)*WW + kw, i*W_out + j] = xpad[n, c, i*S_h + kh*D_h, j*S_w + kw*D_w]

where ``xpad`` is x zero-padded by P. With ``w2d = w.reshape(F, C*HH*WW)`` the
convolution of image n is ``w2d @ cols[n]``, of shape ``(F, H_out*W_out)``: already
``out[n]`` in ``(F, H_out, W_out)`` order, no transpose needed. ``col2im`` is the
adjoint (the transpose) of ``im2col``: it adds every column entry back onto the input
cell it was copied from, so overlapping windows sum.

Dtypes: float32 stays float32; every other real dtype (ints, float16, ...) gives float64.
"""

from __future__ import annotations

import numpy as np

from cs_conv.shapes import ConvGeometry, as_pair, conv_geometry, float_dtype, require_ndim, require_shape


def kernel_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype the compiled kernels use for a float ``dtype``: float32 stays, all else is float64."""
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def work_dtype(x: np.ndarray) -> np.dtype:
    """The dtype im2col works in for x: float32 for float32, float64 for any other real dtype."""
    return kernel_dtype(float_dtype(x))


def _shape_only(shape: tuple[int, ...]) -> np.ndarray:
    """A zero-byte array of the given shape, for checks that only read ``.shape``."""
    return np.broadcast_to(np.zeros((), dtype=np.float64), shape)


def im2col_geometry(x: np.ndarray, HH, WW, pad, stride, dilation=1) -> ConvGeometry:
    """Check im2col's arguments with the convolution's own checks and return the sizes.

    The kernel is described by its size alone, so the messages are exactly the ones
    ``conv_forward_naive`` gives for the same x, kernel, pad, stride and dilation.
    """
    HH, WW = as_pair((HH, WW), "kernel size (HH, WW)")
    if min(HH, WW) < 1:
        raise ValueError(f"kernel {(HH, WW)} must be at least 1x1")
    require_ndim(x, 4, "x", "(N, C, H, W)")
    w = _shape_only((1, x.shape[1], HH, WW))
    return conv_geometry(x, w, None, {"stride": stride, "pad": pad, "dilation": dilation})


def col2im_geometry(cols: np.ndarray, N, C, H, W, HH, WW, pad, stride, dilation=1) -> ConvGeometry:
    """Check col2im's arguments (and that cols has the im2col shape) and return the sizes."""
    sizes = as_pair((N, C), "N, C") + as_pair((H, W), "H, W")
    if min(sizes) < 0:
        raise ValueError(f"N, C, H, W must not be negative, got {sizes}")
    g = im2col_geometry(_shape_only(sizes), HH, WW, pad, stride, dilation)
    require_ndim(cols, 3, "cols", "(N, C*HH*WW, H_out*W_out)")
    require_shape(cols, (g.N, g.C * g.HH * g.WW, g.H_out * g.W_out), "cols")
    return g


def im2col(x, HH, WW, pad, stride, dilation=1):
    """Unfold every receptive field of x into a column.

    ``cols[n, (c*HH + kh)*WW + kw, i*W_out + j] = xpad[n, c, i*S_h + kh*D_h, j*S_w + kw*D_w]``

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    HH, WW : int, kernel height and width
    pad, stride, dilation : int or (height, width) pair; P >= 0, S >= 1, D >= 1

    Returns
    -------
    cols : ndarray of shape (N, C*HH*WW, H_out*W_out), float32 for float32 x, else float64,
        where ``H_out = (H + 2P_h - D_h(HH - 1) - 1) // S_h + 1`` and likewise W_out.

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> cols = im2col(x, 2, 2, pad=0, stride=2)
    >>> cols.shape
    (1, 4, 4)
    >>> cols[0, :, 0]      # the top-left 2x2 window, in (kh, kw) order
    array([0., 1., 4., 5.])
    """
    g = im2col_geometry(x, HH, WW, pad, stride, dilation)
    (sh, sw), (ph, pw), (dh, dw) = g.stride, g.pad, g.dilation
    xpad = np.pad(x.astype(work_dtype(x), copy=False), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((g.N, g.C, g.HH, g.WW, g.H_out, g.W_out), dtype=xpad.dtype)
    for kh in range(g.HH):
        for kw in range(g.WW):
            # Tap (kh, kw) of every window at once: a strided view of the padded input.
            top, left = kh * dh, kw * dw
            cols[:, :, kh, kw] = xpad[:, :, top:top + sh * (g.H_out - 1) + 1:sh,
                                      left:left + sw * (g.W_out - 1) + 1:sw]
    return cols.reshape(g.N, g.C * g.HH * g.WW, g.H_out * g.W_out)


def col2im(cols, N, C, H, W, HH, WW, pad, stride, dilation=1):
    """Fold columns back onto the input, adding where windows overlap (the adjoint of im2col).

    ``dx[n, c, y, z] = sum of cols[n, (c*HH + kh)*WW + kw, i*W_out + j]`` over every
    ``(kh, kw, i, j)`` with ``i*S_h + kh*D_h - P_h == y`` and ``j*S_w + kw*D_w - P_w == z``;
    entries that were copied from padding are dropped.

    Parameters
    ----------
    cols : ndarray of shape (N, C*HH*WW, H_out*W_out)
    N, C, H, W : int, the shape of the input im2col unfolded
    HH, WW : int, kernel height and width
    pad, stride, dilation : int or (height, width) pair, as for ``im2col``

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), float32 for float32 cols, else float64

    >>> dx = col2im(np.ones((1, 4, 9)), 1, 1, 4, 4, 2, 2, pad=0, stride=1)
    >>> dx.shape
    (1, 1, 4, 4)
    >>> dx[0, 0]           # how many 2x2 windows cover each cell
    array([[1., 2., 2., 1.],
           [2., 4., 4., 2.],
           [2., 4., 4., 2.],
           [1., 2., 2., 1.]])
    """
    g = col2im_geometry(cols, N, C, H, W, HH, WW, pad, stride, dilation)
    (sh, sw), (ph, pw), (dh, dw) = g.stride, g.pad, g.dilation
    cols6 = cols.reshape(g.N, g.C, g.HH, g.WW, g.H_out, g.W_out)
    dxpad = np.zeros((g.N, g.C, g.H + 2 * ph, g.W + 2 * pw), dtype=work_dtype(cols))
    for kh in range(g.HH):
        for kw in range(g.WW):
            top, left = kh * dh, kw * dw
            # One tap's view holds distinct cells, so += is safe; the taps add up.
            dxpad[:, :, top:top + sh * (g.H_out - 1) + 1:sh,
                  left:left + sw * (g.W_out - 1) + 1:sw] += cols6[:, :, kh, kw]
    return dxpad[:, :, ph:ph + g.H, pw:pw + g.W].copy()
