"""im2col and col2im as compiled loops (Notebook 04, tasks 4.1 and 4.2).

Same layout and same results as the NumPy reference in ``cs_conv/im2col.py``: for
image n, row ``(c*HH + kh)*WW + kw`` and column ``i*W_out + j`` of the columns hold

    cols[n, (c*HH + kh)*WW + kw, i*W_out + j] = xpad[n, c, i*sh + kh*dil_h, j*sw + kw*dil_w]

where xpad is x zero-padded by (ph, pw), so ``w.reshape(F, -1) @ cols[n]`` is
``out[n]`` in (F, H_out*W_out) order. In unpadded coordinates the tap reads input
row ``r = i*sh + kh*dil_h - ph`` and column ``z = j*sw + kw*dil_w - pw``, and reads
a zero when r or z falls outside the image.

How the file is built: each ``def`` wrapper checks its arguments and allocates the
result in Python, then calls a ``cdef ... noexcept nogil`` kernel that runs without
the GIL on typed memoryviews. ``floating`` is Cython's fused type, so every kernel is
compiled twice, for float32 and for float64. Compiler directives (no bounds checks,
C division) are set once, in ``cython_directives.json``, which setup.py and the
autograder both read; build with CS_CONV_DEBUG=1 to turn the checks back on while
you debug.

Your kernels return 1 when they finish. A kernel that is still blank returns 0,
and the wrapper reports that as NotImplementedError instead of handing back
garbage.
"""

from cython cimport floating

import numpy as np

from cs_conv.im2col import col2im_geometry, im2col_geometry, work_dtype


cdef inline (Py_ssize_t, Py_ssize_t) inside(Py_ssize_t offset, Py_ssize_t stride, Py_ssize_t size,
                                             Py_ssize_t n_out) noexcept nogil:
    """The outputs t = 0..n_out-1 whose input index t*stride + offset lies in [0, size).

    They form one range, lo <= t < hi (empty when lo == hi), returned as (lo, hi):
    for example inside(-1, 2, 5, 4) == (1, 3), since 2t - 1 lies in [0, 5) for t = 1, 2.
    Both divisions have non-negative operands, so C's rounding (the ``cdivision``
    directive) agrees with Python's ``//``.
    """
    cdef Py_ssize_t lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    cdef Py_ssize_t hi = 0 if offset >= size else (size - 1 - offset) // stride + 1
    lo = min(lo, n_out)
    return lo, max(lo, min(hi, n_out))


cdef int im2col_kernel(const floating[:, :, :, ::1] x, floating[:, :, ::1] cols,
                       Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t ph, Py_ssize_t pw,
                       Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dil_h, Py_ssize_t dil_w,
                       Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """Fill cols with every receptive field of x (task 4.1).

    cols[n, (c*HH + kh)*WW + kw, i*W_out + j] = x[n, c, r, z], with
    r = i*sh + kh*dil_h - ph and z = j*sw + kw*dil_w - pw, or 0 when (r, z) is padding.

    x : (N, C, H, W), C-contiguous
    cols : (N, C*HH*WW, H_out*W_out), C-contiguous, every entry to be written
    Returns 1 when done.

    Speed: row (c, kh, kw) of cols is H_out runs of W_out entries; run i copies
    input row r = i*sh + kh*dil_h - ph at columns j*sw + kw*dil_w - pw. Use
    ``inside`` once per tap to find the runs i_lo <= i < i_hi that read a real row
    and the entries j_lo <= j < j_hi that read a real column: everything else is
    zero, and the copy loop needs no test (with sw == 1 it is a contiguous copy).
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t n, c, kh, kw, i, j, i_lo, i_hi, i_end, j_lo, j_hi
    cdef const floating* src
    cdef floating* dst
    ### BEGIN SOLUTION
    for n in range(N):
        for c in range(C):
            for kh in range(HH):
                i_lo, i_hi = inside(kh * dil_h - ph, sh, H, H_out)
                for kw in range(WW):
                    j_lo, j_hi = inside(kw * dil_w - pw, sw, W, W_out)
                    dst = &cols[n, (c * HH + kh) * WW + kw, 0]
                    # Runs i_lo <= i < i_end read real cells; the others read only padding.
                    i_end = i_hi if j_lo < j_hi else i_lo
                    for j in range(i_lo * W_out):
                        dst[j] = 0
                    for j in range(i_end * W_out, H_out * W_out):
                        dst[j] = 0
                    for i in range(i_lo, i_end):
                        # src[j*sw] is the input cell entry j of run i reads.
                        src = &x[n, c, i * sh + kh * dil_h - ph, 0] + (kw * dil_w - pw)
                        for j in range(j_lo):
                            dst[i * W_out + j] = 0
                        if sw == 1:
                            for j in range(j_lo, j_hi):
                                dst[i * W_out + j] = src[j]
                        else:
                            for j in range(j_lo, j_hi):
                                dst[i * W_out + j] = src[j * sw]
                        for j in range(j_hi, W_out):
                            dst[i * W_out + j] = 0
    return 1
    ### END SOLUTION


cdef int col2im_kernel(const floating[:, :, ::1] cols, floating[:, :, :, ::1] dx,
                       Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t ph, Py_ssize_t pw,
                       Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t dil_h, Py_ssize_t dil_w,
                       Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """Add every column entry back onto the input cell it came from (task 4.2).

    dx[n, c, r, z] += cols[n, (c*HH + kh)*WW + kw, i*W_out + j] for every (kh, kw, i, j)
    with r = i*sh + kh*dil_h - ph and z = j*sw + kw*dil_w - pw inside the image;
    entries that came from padding are dropped. This is the transpose of im2col.

    cols : (N, C*HH*WW, H_out*W_out), C-contiguous
    dx : (N, C, H, W), C-contiguous, already zero (the wrapper clears it)
    Returns 1 when done.

    Use ``inside`` as im2col_kernel does, and += because overlapping windows share
    input cells.
    """
    cdef Py_ssize_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t n, c, kh, kw, i, j, i_lo, i_hi, j_lo, j_hi
    cdef const floating* src
    cdef floating* dst
    ### BEGIN SOLUTION
    for n in range(N):
        for c in range(C):
            for kh in range(HH):
                i_lo, i_hi = inside(kh * dil_h - ph, sh, H, H_out)
                for kw in range(WW):
                    j_lo, j_hi = inside(kw * dil_w - pw, sw, W, W_out)
                    src = &cols[n, (c * HH + kh) * WW + kw, 0]
                    if j_lo == j_hi:
                        continue  # every column is padding: nothing to give back
                    for i in range(i_lo, i_hi):
                        dst = &dx[n, c, i * sh + kh * dil_h - ph, 0] + (kw * dil_w - pw)
                        if sw == 1:
                            for j in range(j_lo, j_hi):
                                dst[j] += src[i * W_out + j]
                        else:
                            for j in range(j_lo, j_hi):
                                dst[j * sw] += src[i * W_out + j]
    return 1
    ### END SOLUTION


def _run_im2col(const floating[:, :, :, ::1] x, floating[:, :, ::1] cols, g):
    """Call the kernel for x's dtype without the GIL; return what it returned."""
    cdef Py_ssize_t HH = g.HH, WW = g.WW, ph = g.pad[0], pw = g.pad[1]
    cdef Py_ssize_t sh = g.stride[0], sw = g.stride[1], dil_h = g.dilation[0], dil_w = g.dilation[1]
    cdef Py_ssize_t H_out = g.H_out, W_out = g.W_out
    cdef int done
    with nogil:
        done = im2col_kernel(x, cols, HH, WW, ph, pw, sh, sw, dil_h, dil_w, H_out, W_out)
    return done


def _run_col2im(const floating[:, :, ::1] cols, floating[:, :, :, ::1] dx, g):
    """Call the kernel for cols' dtype without the GIL; return what it returned."""
    cdef Py_ssize_t HH = g.HH, WW = g.WW, ph = g.pad[0], pw = g.pad[1]
    cdef Py_ssize_t sh = g.stride[0], sw = g.stride[1], dil_h = g.dilation[0], dil_w = g.dilation[1]
    cdef Py_ssize_t H_out = g.H_out, W_out = g.W_out
    cdef int done
    with nogil:
        done = col2im_kernel(cols, dx, HH, WW, ph, pw, sh, sw, dil_h, dil_w, H_out, W_out)
    return done


def _result_array(out, shape, dtype):
    """``out`` checked as a place to write the result, or a new array when it is None."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise ValueError(f"out must be a numpy array, got {type(out).__name__}")
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"out has shape {out.shape} and dtype {out.dtype}, expected {shape} and {dtype}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be C-contiguous and writeable")
    return out


def _not_done(label):
    # A noexcept kernel cannot raise: an error inside it (an index out of bounds in a
    # CS_CONV_DEBUG=1 build) is printed as "Exception ignored ..." and it returns 0.
    return NotImplementedError(
        f"{label} (the kernel returned 0: it is not written yet, does not end with `return 1`, "
        "or stopped on an error printed above as 'Exception ignored in ...')"
    )


def im2col_cython(x, HH, WW, pad, stride, dilation=1, *, out=None):
    """Unfold every receptive field of x into a column (compiled; same result as ``im2col``).

    ``cols[n, (c*HH + kh)*WW + kw, i*W_out + j] = xpad[n, c, i*S_h + kh*D_h, j*S_w + kw*D_w]``

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    HH, WW : int, kernel height and width
    pad, stride, dilation : int or (height, width) pair; P >= 0, S >= 1, D >= 1
    out : optional C-contiguous ndarray of the result's shape and dtype to fill in place

    Returns
    -------
    cols : ndarray of shape (N, C*HH*WW, H_out*W_out), float32 for float32 x, else float64,
        where ``H_out = (H + 2P_h - D_h(HH - 1) - 1) // S_h + 1`` and likewise W_out.

    >>> im2col_cython(np.zeros((2, 3, 5, 5)), 3, 3, pad=1, stride=2).shape
    (2, 27, 9)
    """
    g = im2col_geometry(x, HH, WW, pad, stride, dilation)
    x = np.ascontiguousarray(x, dtype=work_dtype(x))
    cols = _result_array(out, (g.N, g.C * g.HH * g.WW, g.H_out * g.W_out), x.dtype)
    if not _run_im2col(x, cols, g):
        raise _not_done("Notebook 04, task 4.1: im2col_kernel")
    return cols


def col2im_cython(cols, N, C, H, W, HH, WW, pad, stride, dilation=1, *, out=None):
    """Fold columns back onto the input, adding where windows overlap (compiled ``col2im``).

    The adjoint of ``im2col_cython``: ``sum(im2col(x) * cols) == sum(x * col2im(cols))``.

    Parameters
    ----------
    cols : ndarray of shape (N, C*HH*WW, H_out*W_out)
    N, C, H, W : int, the shape of the input that was unfolded
    HH, WW : int, kernel height and width
    pad, stride, dilation : int or (height, width) pair, as for ``im2col_cython``
    out : optional C-contiguous ndarray of shape (N, C, H, W) and the result's dtype;
        it is overwritten

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), float32 for float32 cols, else float64

    >>> col2im_cython(np.ones((2, 27, 9)), 2, 3, 5, 5, 3, 3, pad=1, stride=2).shape
    (2, 3, 5, 5)
    """
    g = col2im_geometry(cols, N, C, H, W, HH, WW, pad, stride, dilation)
    cols = np.ascontiguousarray(cols, dtype=work_dtype(cols))
    dx = _result_array(out, (g.N, g.C, g.H, g.W), cols.dtype)
    dx.fill(0)
    if not _run_col2im(cols, dx, g):
        raise _not_done("Notebook 04, task 4.2: col2im_kernel")
    return dx
