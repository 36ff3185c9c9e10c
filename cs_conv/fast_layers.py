"""Fast conv and pool layers: im2col + one matrix product per image (Notebook 04).

Same signatures, results (to rounding), dtypes, errors and caches as the loop
versions in ``layers.py``, so either backward accepts either forward's cache::

    out, cache = conv_forward_fast(x, w, b, conv_param)
    dx, dw, db = conv_backward_fast(dout, cache)

Convolution (tasks 4.3, 4.4). With ``cols = im2col(x)`` of shape ``(N, C*HH*WW, H_out*W_out)``
(layout in ``cs_conv/im2col.py``) and ``w2d = w.reshape(F, C*HH*WW)``, for each image n::

    out[n]  = w2d @ cols[n] + b[:, None]          (F, H_out*W_out)
    dw2d   += dout[n] @ cols[n].T                 (F, C*HH*WW)
    dx[n]   = col2im(w2d.T @ dout[n])             (C, H, W)

and ``groups`` splits C and F into G blocks, one product per block. The batch is done
a chunk of images at a time, so the columns of the whole batch never exist at once:
the extra memory is one chunk per worker, and the cache is the inputs alone (backward
unfolds x again, chunk by chunk). ``cs_conv.parallel.split_batch`` hands each core
its own share of the images, so one core's unfolding overlaps another's products.

Pooling (tasks 4.5-4.8) reuses im2col: ``pool_columns`` unfolds each channel as a
one-channel image, so each window becomes a column of ``pool_h*pool_w`` entries; max
and average pooling reduce the columns, and their backward passes send the gradient
back with ``np.add.at`` (max) or col2im (average). Chunks again bound the memory.

Dtypes: float32 is computed and returned in float32; integers in float64, as in
``layers.py``; any other float (float16, longdouble) is computed in float64 and
returned in its own dtype.

Needs the compiled extension ``cs_conv.im2col_cython``; importing this module without
it raises ImportError saying how to build it (there is no slow fallback).
"""

from __future__ import annotations

import numpy as np

from cs_conv.im2col import kernel_dtype
from cs_conv.parallel import split_batch, workers_for
from cs_conv.shapes import PoolGeometry, conv_geometry, float_dtype, pool_geometry, require_shape

try:
    from cs_conv.im2col_cython import col2im_cython, im2col_cython
except ImportError as error:
    raise ImportError(
        "cs_conv.fast_layers needs the compiled extension cs_conv.im2col_cython, which is not built "
        f"or does not load ({error}). Build it from the folder that holds setup.py (the repository "
        "root, or your assignment folder) with:  make build  or:  python setup.py build_ext --inplace"
    ) from error

# A worker's chunk of columns takes at most this many bytes (but always holds at least
# one image): enough images that per-chunk costs (Python calls, the bias pass) stay
# small next to the products.
CHUNK_BYTES = 16 * 2**20
# ... and all workers' chunks together at most this fraction of the bytes the call
# reads and returns, so the extra memory stays below the size of the call's own arrays.
CHUNK_FRACTION = 0.3
# Pooling makes several NumPy passes over each chunk's columns and windows, so its chunks
# are kept small: at most this many windows, so that a chunk's columns stay in cache and
# its per-window temporaries (16384 * 8 bytes = 128 KiB) come from malloc's heap instead
# of fresh pages from the OS every time.
POOL_CHUNK_WINDOWS = 16384


def images_per_chunk(N: int, bytes_per_image: int, call_bytes: int, workers: int = 1) -> int:
    """How many images each of ``workers`` workers unfolds at once: at least 1, at most its
    share of the N images, within the byte limits (``CHUNK_FRACTION`` is for all workers together)."""
    limit = min(CHUNK_BYTES, CHUNK_FRACTION * call_bytes / workers)
    return int(max(1, min(-(-N // workers), limit // max(bytes_per_image, 1))))


def conv_forward_fast(x, w, b, conv_param):
    """Convolution by im2col and matrix products; same contract as ``conv_forward_naive``.

    ``out[n, f, i, j] = b[f] + sum_{c, k, l} w[f, c, k, l] * xpad[n, g*Cg + c, i*S + k*D, j*S + l*D]``

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
    cache : (x, w, b, conv_param), the inputs themselves (no columns are kept)

    >>> out, _ = conv_forward_fast(np.ones((1, 3, 32, 32)), np.ones((10, 3, 5, 5)),
    ...                            np.zeros(10), {"stride": 1, "pad": 2})
    >>> out.shape
    (1, 10, 32, 32)
    """
    g = conv_geometry(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, Cg, HH, WW = w.shape
    G, P = g.groups, g.H_out * g.W_out
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    work = kernel_dtype(dtype)
    K = Cg * HH * WW  # rows of one group's columns
    # Filter f = (group, filter in group): one (F/G, K) matrix per group.
    w_rows = w.astype(work, copy=False).reshape(G, F // G, K)
    b_col = b.astype(work, copy=False).reshape(G, F // G, 1)
    out = np.empty((N, G, F // G, P), dtype=work)
    workers = workers_for(N, flops_per_item=2 * F * K * P)
    chunk = images_per_chunk(N, C * HH * WW * P * work.itemsize, x.nbytes + out.nbytes, workers)

    def convolve(lo, hi):
        """Images lo..hi-1, a chunk at a time, into out[lo:hi]."""
        cols_buffer = np.empty((chunk, C * HH * WW, P), dtype=work)
        for n0 in range(lo, hi, chunk):
            n1 = min(hi, n0 + chunk)
            cols = im2col_cython(x[n0:n1], HH, WW, g.pad, g.stride, g.dilation, out=cols_buffer[:n1 - n0])
            # Rows of the columns are in (c, kh, kw) order, so group g's rows are one block.
            np.matmul(w_rows, cols.reshape(n1 - n0, G, K, P), out=out[n0:n1])
            out[n0:n1] += b_col

    split_batch(convolve, N, workers)
    out = out.reshape(g.out_shape).astype(dtype, copy=False)
    ### END SOLUTION
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_fast(dout, cache):
    """Backward pass of ``conv_forward_fast`` (or ``conv_forward_naive``: the caches agree).

    Per image n and group: ``dw2d += dout[n] @ cols[n].T``, ``dx[n] = col2im(w2d.T @ dout[n])``
    and ``db = sum of dout over n, i, j``, with the columns of x unfolded again chunk by chunk.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)
    cache : (x, w, b, conv_param)

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
    G, P = g.groups, g.H_out * g.W_out
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    work = kernel_dtype(dtype)
    K = Cg * HH * WW
    w_cols = w.astype(work, copy=False).reshape(G, F // G, K).transpose(0, 2, 1)  # (G, K, F/G), a view
    dx = np.empty((N, C, H, W), dtype=work)
    workers = workers_for(N, flops_per_item=4 * F * K * P)
    chunk = images_per_chunk(N, C * HH * WW * P * work.itemsize, x.nbytes + dout.nbytes + dx.nbytes, workers)

    def backward(lo, hi):
        """dx[lo:hi], and images lo..hi-1's shares of dw (as (G, F/G, K)) and db."""
        dw_rows = np.zeros((G, F // G, K), dtype=work)
        db = np.zeros(F, dtype=work)
        # One buffer serves both the gradient columns (for dx) and then the columns of x (for dw).
        cols_buffer = np.empty((chunk, G, K, P), dtype=work)
        dw_parts = np.empty((chunk, G, F // G, K), dtype=work)
        for n0 in range(lo, hi, chunk):
            n1 = min(hi, n0 + chunk)
            cols = cols_buffer[:n1 - n0]
            dout_n = np.ascontiguousarray(dout[n0:n1], dtype=work).reshape(n1 - n0, G, F // G, P)
            # dx: each column's gradient is w2d.T @ dout; col2im adds them back onto the input.
            np.matmul(w_cols, dout_n, out=cols)
            col2im_cython(cols.reshape(n1 - n0, C * HH * WW, P), n1 - n0, C, H, W, HH, WW,
                          g.pad, g.stride, g.dilation, out=dx[n0:n1])
            # dw: unfold this chunk of x again and correlate it with dout.
            im2col_cython(x[n0:n1], HH, WW, g.pad, g.stride, g.dilation,
                          out=cols.reshape(n1 - n0, C * HH * WW, P))
            np.matmul(dout_n, cols.transpose(0, 1, 3, 2), out=dw_parts[:n1 - n0])
            dw_rows += dw_parts[:n1 - n0].sum(axis=0)
            db += dout_n.sum(axis=(0, 3)).reshape(F)
        return dw_rows, db

    shares = split_batch(backward, N, workers)
    dx = dx.astype(dtype, copy=False)
    dw = sum(dw_rows for dw_rows, _ in shares).reshape(w.shape).astype(dtype, copy=False)
    db = sum(db for _, db in shares).astype(dtype, copy=False)
    ### END SOLUTION
    return dx, dw, db


def padded_size(g: PoolGeometry) -> tuple[int, int]:
    """Height and width that hold every pooling window whole.

    That is the padded input ``(H + 2P_h, W + 2P_w)``, grown to
    ``((H_out - 1)*S_h + pool_h, (W_out - 1)*S_w + pool_w)`` when a ``ceil_mode`` window
    hangs past it. The layers treat the overhang as absent: max pooling fills it with
    -inf, which never wins, and average pooling leaves it out of the divisor.
    """
    (ph, pw), (sh, sw), (pool_h, pool_w) = g.pad, g.stride, g.pool
    return (max(g.H + 2 * ph, (g.H_out - 1) * sh + pool_h),
            max(g.W + 2 * pw, (g.W_out - 1) * sw + pool_w))


def pool_chunk_size(g: PoolGeometry, dtype: np.dtype) -> int:
    """Images per chunk for pooling: as for convolutions, and at most ``POOL_CHUNK_WINDOWS``."""
    windows = g.C * g.H_out * g.W_out  # per image
    call_bytes = g.N * g.C * (g.H * g.W + g.H_out * g.W_out) * dtype.itemsize
    by_memory = images_per_chunk(g.N, windows * g.pool[0] * g.pool[1] * dtype.itemsize, call_bytes)
    return max(1, min(by_memory, POOL_CHUNK_WINDOWS // max(windows, 1)))


def pool_columns(x: np.ndarray, g: PoolGeometry, dtype: np.dtype, fill: float):
    """Yield ``(n0, n1, cols)``: every pooling window of images n0..n1-1 as a column.

    ``cols[(n - n0)*C + c, kh*pool_w + kw, i*W_out + j] = xpad[n, c, i*S_h + kh, j*S_w + kw]``,
    where xpad is x in ``dtype``, padded with ``fill`` to ``padded_size(g)`` (x sits at
    offset (P_h, P_w)). Each channel is unfolded as a one-channel image with
    ``im2col_cython``, so a column is one window, its entries in row-major order.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    g : its PoolGeometry
    dtype : float32 or float64, the dtype of the columns
    fill : value of the padding cells (-inf for max pooling, 0 for average pooling)

    Yields
    ------
    n0, n1 : int, the chunk's images
    cols : ndarray of shape ((n1 - n0)*C, pool_h*pool_w, H_out*W_out). Its memory is
        reused for the next chunk: use it before asking for the next one.
    """
    (Hp, Wp), (ph, pw) = padded_size(g), g.pad
    K, P = g.pool[0] * g.pool[1], g.H_out * g.W_out
    chunk = pool_chunk_size(g, dtype)
    # Allocated once and reused: a fresh array per chunk costs page faults every time.
    cols_buffer = np.empty((chunk * g.C, K, P), dtype=dtype)
    padded = (Hp, Wp) != (g.H, g.W)
    if padded:
        xpad_buffer = np.full((chunk, g.C, Hp, Wp), fill, dtype=dtype)
    for n0 in range(0, g.N, chunk):
        n1 = min(g.N, n0 + chunk)
        if padded:
            xpad = xpad_buffer[:n1 - n0]
            xpad[:, :, ph:ph + g.H, pw:pw + g.W] = x[n0:n1]  # the border keeps its fill
        else:
            xpad = x[n0:n1].astype(dtype, copy=False)
        cols = im2col_cython(xpad.reshape((n1 - n0) * g.C, 1, Hp, Wp), g.pool[0], g.pool[1], 0,
                             g.stride, out=cols_buffer[:(n1 - n0) * g.C])
        yield n0, n1, cols


def pool_divisor(g: PoolGeometry, dtype: np.dtype) -> np.ndarray:
    """Cells each window averages over, shape (H_out*W_out,): padding counts, overhang does not.

    This is ``pool_window(g, i, j)[2]`` of ``cs_conv.shapes`` for every (i, j) at once.
    """
    (sh, sw), (pool_h, pool_w) = g.stride, g.pool
    top = np.arange(g.H_out) * sh
    left = np.arange(g.W_out) * sw
    rows = np.minimum(top + pool_h, g.H + 2 * g.pad[0]) - top
    cols = np.minimum(left + pool_w, g.W + 2 * g.pad[1]) - left
    return np.outer(rows, cols).ravel().astype(dtype)


def fold_pool_columns(dcols: np.ndarray, g: PoolGeometry) -> np.ndarray:
    """The adjoint of ``pool_columns`` for one chunk: add each column back onto its window.

    dcols : ndarray of shape (n*C, pool_h*pool_w, H_out*W_out)
    Returns dx of shape (n, C, H, W): the padding's share is dropped.
    """
    (Hp, Wp), (ph, pw) = padded_size(g), g.pad
    n = dcols.shape[0] // g.C
    dxpad = col2im_cython(dcols, n * g.C, 1, Hp, Wp, g.pool[0], g.pool[1], 0, g.stride)
    return dxpad.reshape(n, g.C, Hp, Wp)[:, :, ph:ph + g.H, pw:pw + g.W]


def max_pool_forward_fast(x, pool_param):
    """Max pooling as a maximum over im2col columns; same contract as the naive one.

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

    >>> out, _ = max_pool_forward_fast(np.ones((1, 1, 8, 8)),
    ...     {"pool_height": 3, "pool_width": 3, "stride": 2, "ceil_mode": True})
    >>> out.shape
    (1, 1, 4, 4)
    """
    g = pool_geometry(x, pool_param)
    N, C, H, W = x.shape
    P = g.H_out * g.W_out
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    work = kernel_dtype(dtype)
    out = np.empty((N * C, P), dtype=work)
    for n0, n1, cols in pool_columns(x, g, work, fill=-np.inf):
        # np.max, unlike np.fmax, lets a NaN win, as the naive window.max() does.
        np.max(cols, axis=1, out=out[n0 * C:n1 * C])
    out = out.reshape(g.out_shape).astype(dtype, copy=False)
    ### END SOLUTION
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_fast(dout, cache):
    """Backward pass of max pooling: each window's gradient goes to its first maximum.

    The columns are unfolded again from x (the cache holds no more than the naive
    one). In each column the first entry equal to the column's maximum (or the first
    NaN, as ``np.argmax`` picks) is the winner, and ``np.add.at`` adds the window's
    gradient at the winner's cell, so overlapping windows add up.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
    cache : (x, pool_param)

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, pool_param = cache
    g = pool_geometry(x, pool_param)
    require_shape(dout, g.out_shape, "dout")
    N, C, H, W = x.shape
    P = g.H_out * g.W_out
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    work = kernel_dtype(dtype)
    K, (Hp, Wp), (ph, pw) = g.pool[0] * g.pool[1], padded_size(g), g.pad
    # cell[k*P + p]: the cell of a padded plane that tap k of window p reads. Unfolding
    # the cell numbers themselves with im2col gives exactly that table.
    cell_numbers = np.arange(Hp * Wp, dtype=np.float64).reshape(1, 1, Hp, Wp)
    cell = im2col_cython(cell_numbers, g.pool[0], g.pool[1], 0, g.stride).astype(np.intp).ravel()
    rank = np.arange(K, 0, -1, dtype=np.min_scalar_type(K))[:, None]  # K, K-1, ..., 1
    dxpad = np.zeros(N * C * Hp * Wp, dtype=work)
    for n0, n1, cols in pool_columns(x, g, work, fill=-np.inf):
        best = cols.max(axis=1, keepdims=True)
        is_max = cols == best
        if np.isnan(best).any():
            is_max |= np.isnan(cols)
        # The first True of each column is the one of top rank (is_max.argmax(axis=1)
        # says the same, but takes 4x longer).
        first = K - (is_max * rank).max(axis=1).astype(np.intp)
        # Window p's winner is cell[first*P + p] of its plane; the planes follow each other.
        winners = cell[first * P + np.arange(P)] + np.arange(n0 * C, n1 * C)[:, None] * (Hp * Wp)
        # add.at, unlike dxpad[winners] += ..., adds every time a cell wins (overlaps).
        np.add.at(dxpad, winners.ravel(), dout[n0:n1].reshape(-1))
    dx = dxpad.reshape(N, C, Hp, Wp)[:, :, ph:ph + H, pw:pw + W].astype(dtype, copy=False)
    ### END SOLUTION
    return dx


def avg_pool_forward_fast(x, pool_param):
    """Average pooling as a mean over im2col columns; same contract as the naive one.

    Padding counts as zeros in the mean; the overhang of a ``ceil_mode`` window does
    not (``pool_divisor``).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    pool_param : dict, as for ``max_pool_forward_fast``

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
    cache : (x, pool_param)

    >>> out, _ = avg_pool_forward_fast(np.ones((2, 3, 6, 6)),
    ...     {"pool_height": 2, "pool_width": 2, "stride": 2})
    >>> out.shape
    (2, 3, 3, 3)
    """
    g = pool_geometry(x, pool_param)
    N, C, H, W = x.shape
    P = g.H_out * g.W_out
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    work = kernel_dtype(dtype)
    out = np.empty((N * C, P), dtype=work)
    for n0, n1, cols in pool_columns(x, g, work, fill=0):
        np.sum(cols, axis=1, out=out[n0 * C:n1 * C])
    out /= pool_divisor(g, work)
    out = out.reshape(g.out_shape).astype(dtype, copy=False)
    ### END SOLUTION
    cache = (x, pool_param)
    return out, cache


def avg_pool_backward_fast(dout, cache):
    """Backward pass of average pooling: each window shares its gradient equally.

    Every entry of a window's column gets ``dout / divisor``; col2im adds the columns
    back onto the input.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
    cache : (x, pool_param)

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
    """
    x, pool_param = cache
    g = pool_geometry(x, pool_param)
    require_shape(dout, g.out_shape, "dout")
    N, C, H, W = x.shape
    P = g.H_out * g.W_out
    dtype = float_dtype(x)
    ### BEGIN SOLUTION
    work = kernel_dtype(dtype)
    share = dout.reshape(N * C, 1, P) / pool_divisor(g, work)
    dx = np.empty((N, C, H, W), dtype=dtype)
    chunk = pool_chunk_size(g, work)
    dcols = np.empty((chunk * C, g.pool[0] * g.pool[1], P), dtype=work)
    for n0 in range(0, N, chunk):
        n1 = min(N, n0 + chunk)
        # Every entry of a window's column gets the window's share.
        dcols[:(n1 - n0) * C] = share[n0 * C:n1 * C]
        dx[n0:n1] = fold_pool_columns(dcols[:(n1 - n0) * C], g)
    ### END SOLUTION
    return dx
