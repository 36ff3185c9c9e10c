"""im2col / col2im: the NumPy reference (cs_conv.im2col) and the compiled kernels (tasks 4.1, 4.2).

Oracles: hand-traceable cases built from ``10*i + j``, a plain loop written here from the
layout formula, the adjoint identity <im2col(x), c> == <x, col2im(c)>, and parity
between the NumPy and Cython versions over random geometries (hypothesis).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from course_tools.fences import student_text, write_student_copy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cs_conv import im2col_cython as compiled
from cs_conv.im2col import col2im, im2col
from cs_conv.layers import conv_forward_naive

im2col_cython, col2im_cython = compiled.im2col_cython, compiled.col2im_cython

ROOT = Path(__file__).resolve().parent.parent
PYX = ROOT / "cs_conv" / "im2col_cython.pyx"

task4_1 = pytest.mark.task4_1
task4_2 = pytest.mark.task4_2
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def loop_im2col(x, HH, WW, pad, stride, dilation=1):
    """The layout formula, one entry at a time (an oracle that shares no code with the kit)."""
    (ph, pw), (sh, sw), (dh, dw) = pair(pad), pair(stride), pair(dilation)
    N, C, H, W = x.shape
    H_out = (H + 2 * ph - dh * (HH - 1) - 1) // sh + 1
    W_out = (W + 2 * pw - dw * (WW - 1) - 1) // sw + 1
    cols = np.zeros((N, C * HH * WW, H_out * W_out))
    for n in range(N):
        for c in range(C):
            for kh in range(HH):
                for kw in range(WW):
                    for i in range(H_out):
                        for j in range(W_out):
                            r, z = i * sh + kh * dh - ph, j * sw + kw * dw - pw
                            if 0 <= r < H and 0 <= z < W:
                                cols[n, (c * HH + kh) * WW + kw, i * W_out + j] = x[n, c, r, z]
    return cols


def traceable(shape):
    """x[n, c, i, j] = 100*c + 10*i + j (+ 1000*n): every entry says where it came from."""
    N, C, H, W = shape
    n, c, i, j = np.meshgrid(*(np.arange(s) for s in shape), indexing="ij")
    return (1000 * n + 100 * c + 10 * i + j).astype(np.float64)


# ------------------------------------------------------------------ hand-traceable cases
@pytest.mark.parametrize("impl", [im2col, im2col_cython], ids=["numpy", "cython"])
@task4_1
def test_tiny_case_by_hand(impl):
    x = traceable((1, 1, 3, 4))  # rows 0..2, columns 0..3: entry 10*i + j
    cols = impl(x, 2, 2, pad=0, stride=1)
    # Windows in (i, j) order; each column lists its window's taps in (kh, kw) order.
    expected = np.array([[0, 1, 2, 10, 11, 12],
                         [1, 2, 3, 11, 12, 13],
                         [10, 11, 12, 20, 21, 22],
                         [11, 12, 13, 21, 22, 23]], dtype=float)
    np.testing.assert_array_equal(cols[0], expected)


@pytest.mark.parametrize("impl", [im2col, im2col_cython], ids=["numpy", "cython"])
@task4_1
def test_rectangular_kernel_with_pad_and_stride_pairs_by_hand(impl):
    x = traceable((1, 1, 3, 4))
    # Kernel 1 row by 3 columns, pad (0, 1), stride (2, 2): H_out = 2, W_out = 2.
    cols = impl(x, 1, 3, pad=(0, 1), stride=(2, 2))
    # Output (i, j) reads row 2i and columns 2j - 1 + kw; columns are (i, j) = 00, 01, 10, 11.
    expected = np.array([[0, 1, 0, 21],       # kw = 0: column 2j - 1, padding when j = 0
                         [0, 2, 20, 22],      # kw = 1: column 2j
                         [1, 3, 21, 23]],     # kw = 2: column 2j + 1
                        dtype=float)
    np.testing.assert_array_equal(cols[0], expected)


@pytest.mark.parametrize("impl", [im2col, im2col_cython], ids=["numpy", "cython"])
@task4_1
def test_dilation_and_channels_by_hand(impl):
    x = traceable((1, 2, 3, 3))  # channel c adds 100*c
    cols = impl(x, 2, 2, pad=0, stride=1, dilation=2)  # one window: the 4 corners
    np.testing.assert_array_equal(cols[0, :, 0], [0, 2, 20, 22, 100, 102, 120, 122])


@pytest.mark.parametrize("impl", [col2im, col2im_cython], ids=["numpy", "cython"])
@task4_2
def test_col2im_counts_overlaps_by_hand(impl):
    # 3x3 windows, stride 2, on 5x5: the middle row and column are shared by two windows.
    dx = impl(np.ones((1, 9, 4)), 1, 1, 5, 5, 3, 3, pad=0, stride=2)
    expected = np.array([[1, 1, 2, 1, 1],
                         [1, 1, 2, 1, 1],
                         [2, 2, 4, 2, 2],
                         [1, 1, 2, 1, 1],
                         [1, 1, 2, 1, 1]], dtype=float)
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("impl", [col2im, col2im_cython], ids=["numpy", "cython"])
@task4_2
def test_col2im_drops_what_came_from_padding(impl):
    dx = impl(np.ones((1, 9, 4)), 1, 1, 2, 2, 3, 3, pad=1, stride=1)
    np.testing.assert_array_equal(dx[0, 0], np.full((2, 2), 4.0))


# ---------------------------------------------------------------- geometry sweep
GEOMETRIES = [
    # (x shape, HH, WW, pad, stride, dilation)
    ((2, 3, 5, 5), 3, 3, 1, 1, 1),
    ((2, 3, 7, 7), 3, 3, 0, 2, 1),
    ((2, 2, 8, 8), 3, 3, 2, 3, 1),
    ((2, 2, 5, 7), 2, 3, 1, 1, 1),            # rectangular kernels: CS231n's old bug
    ((1, 3, 6, 5), 3, 2, 0, 2, 1),
    ((1, 2, 7, 5), 3, 2, (0, 2), (2, 1), 1),  # per-axis pad and stride
    ((1, 2, 9, 8), 2, 3, (2, 1), (1, 3), (2, 1)),
    ((2, 2, 7, 7), 3, 3, 2, 1, 2),
    ((1, 2, 3, 3), 5, 5, 1, 1, 1),            # kernel as large as the padded input
    ((1, 1, 1, 1), 1, 1, 0, 1, 1),
    ((1, 1, 2, 2), 3, 3, 2, 3, 1),            # windows that read mostly padding
    ((1, 1, 3, 2), 2, 2, 2, (1, 2), (2, 1)),  # a tap whose every column is padding
    ((1, 2, 0, 3), 1, 2, 1, 1, 1),            # an empty image: every window is padding
]


@pytest.mark.parametrize("shape, HH, WW, pad, stride, dilation", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@task4_1
def test_im2col_matches_the_loop_oracle(shape, HH, WW, pad, stride, dilation, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    expected = loop_im2col(x.astype(np.float64), HH, WW, pad, stride, dilation).astype(dtype)
    for impl in (im2col, im2col_cython):
        cols = impl(x, HH, WW, pad, stride, dilation)
        assert cols.dtype == dtype, impl.__name__
        np.testing.assert_array_equal(cols, expected, err_msg=f"{impl.__name__} {shape} {HH}x{WW}")


@pytest.mark.parametrize("shape, HH, WW, pad, stride, dilation", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@task4_2
def test_col2im_numpy_and_cython_agree(shape, HH, WW, pad, stride, dilation, dtype):
    x_shape_cols = im2col(np.zeros(shape), HH, WW, pad, stride, dilation).shape
    cols = np.random.default_rng(1).standard_normal(x_shape_cols).astype(dtype)
    a = col2im(cols, *shape, HH, WW, pad, stride, dilation)
    b = col2im_cython(cols, *shape, HH, WW, pad, stride, dilation)
    assert a.dtype == b.dtype == dtype and a.shape == b.shape == shape
    np.testing.assert_allclose(b, a, rtol=TOL[dtype], atol=TOL[dtype])


# ---------------------------------------------------------------- properties
@st.composite
def geometries(draw):
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    H, W = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    HH, WW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    reach_ok = (H + 2 * pad[0] >= dilation[0] * (HH - 1) + 1) and (W + 2 * pad[1] >= dilation[1] * (WW - 1) + 1)
    assume(reach_ok)
    return (N, C, H, W), HH, WW, pad, stride, dilation


@settings(deadline=None, max_examples=60)
@given(geometries(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
@task4_1
@task4_2
def test_numpy_and_cython_agree_and_col2im_is_the_adjoint(geometry, dtype, seed):
    shape, HH, WW, pad, stride, dilation = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    cols = im2col_cython(x, HH, WW, pad, stride, dilation)
    np.testing.assert_array_equal(cols, im2col(x, HH, WW, pad, stride, dilation))
    c = rng.standard_normal(cols.shape).astype(dtype)
    dx = col2im_cython(c, *shape, HH, WW, pad, stride, dilation)
    np.testing.assert_allclose(dx, col2im(c, *shape, HH, WW, pad, stride, dilation),
                               rtol=TOL[dtype], atol=TOL[dtype])
    # The adjoint identity, in float64 so that the test's own sums are exact enough.
    lhs = np.sum(cols.astype(np.float64) * c)
    rhs = np.sum(x.astype(np.float64) * dx)
    assert lhs == pytest.approx(rhs, rel=1e-4 if dtype == np.float32 else 1e-10, abs=1e-4), geometry


# ---------------------------------------------------------------- dtypes, layouts, no mutation
@pytest.mark.parametrize("dtype, expected", [(np.float32, np.float32), (np.float64, np.float64),
                                             (np.int64, np.float64), (np.float16, np.float64),
                                             (np.bool_, np.float64)])
@task4_1
def test_dtypes_follow_the_kit_rule(dtype, expected):
    x = np.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4).astype(dtype)
    for impl in (im2col, im2col_cython):
        cols = impl(x, 2, 2, 1, 1)
        assert cols.dtype == expected
        np.testing.assert_array_equal(cols, loop_im2col(x.astype(np.float64), 2, 2, 1, 1))


@task4_1
@task4_2
def test_inputs_are_not_modified_and_may_be_read_only_or_strided():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 6, 5)).transpose(0, 1, 3, 2)  # not C-contiguous
    x.setflags(write=False)
    before = x.copy()
    cols = im2col_cython(x, 3, 2, 1, (2, 1))
    np.testing.assert_array_equal(cols, im2col(x, 3, 2, 1, (2, 1)))
    np.testing.assert_array_equal(x, before)
    c = rng.standard_normal(cols.shape)[:, ::-1]  # a reversed view
    c.setflags(write=False)
    c_before = c.copy()
    dx = col2im_cython(c, 3, 2, 5, 6, 3, 2, 1, (2, 1))
    np.testing.assert_allclose(dx, col2im(c, 3, 2, 5, 6, 3, 2, 1, (2, 1)), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(c, c_before)


@task4_1
@task4_2
def test_read_only_contiguous_inputs_are_used_in_place():
    x = np.random.default_rng(5).standard_normal((2, 3, 5, 5))
    x.setflags(write=False)
    cols = im2col_cython(x, 3, 3, 1, 1)
    cols.setflags(write=False)
    np.testing.assert_allclose(col2im_cython(cols, 2, 3, 5, 5, 3, 3, 1, 1), col2im(cols, 2, 3, 5, 5, 3, 3, 1, 1))


@task4_1
def test_out_argument_is_filled_in_place_and_checked():
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 5))
    out = np.full((2, 27, 9), np.nan)
    assert im2col_cython(x, 3, 3, 1, 2, out=out) is out
    np.testing.assert_array_equal(out, im2col(x, 3, 3, 1, 2))
    dx = np.full((2, 3, 5, 5), np.nan)
    assert col2im_cython(out, 2, 3, 5, 5, 3, 3, 1, 2, out=dx) is dx  # overwritten, not added to
    np.testing.assert_allclose(dx, col2im(out, 2, 3, 5, 5, 3, 3, 1, 2))
    with pytest.raises(ValueError, match=r"out has shape \(2, 27, 8\)"):
        im2col_cython(x, 3, 3, 1, 2, out=np.empty((2, 27, 8)))
    with pytest.raises(ValueError, match="dtype float32"):
        im2col_cython(x, 3, 3, 1, 2, out=np.empty((2, 27, 9), dtype=np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        im2col_cython(x, 3, 3, 1, 2, out=np.empty((2, 9, 27)).transpose(0, 2, 1))


@task4_1
def test_empty_batch():
    assert im2col_cython(np.zeros((0, 2, 4, 4)), 3, 3, 1, 1).shape == (0, 18, 16)
    assert col2im_cython(np.zeros((0, 18, 16)), 0, 2, 4, 4, 3, 3, 1, 1).shape == (0, 2, 4, 4)


# ---------------------------------------------------------------- errors
BAD = [
    # (x shape, HH, WW, pad, stride, dilation): the naive conv's message is the reference
    ((1, 1, 4, 4), 5, 5, 0, 1, 1),
    ((1, 1, 4, 4), 3, 3, 0, 1, 2),
    ((1, 1, 4, 4), 3, 3, 0, 0, 1),
    ((1, 1, 4, 4), 3, 3, -1, 1, 1),
    ((1, 1, 4, 4), 3, 3, 1, (1, 2, 3), 1),
    ((1, 1, 4, 4), 3, 3, 1, 1.5, 1),
    ((1, 1, 4, 4), 3, 3, 1, 1, 0),
    ((1, 1, 4, 4), 0, 3, 1, 1, 1),
]


@pytest.mark.parametrize("shape, HH, WW, pad, stride, dilation", BAD)
@task4_1
def test_bad_geometry_gives_the_naive_conv_message(shape, HH, WW, pad, stride, dilation):
    x = np.zeros(shape)
    w = np.zeros((1, shape[1], max(HH, 0), WW))
    with pytest.raises(ValueError) as naive:
        conv_forward_naive(x, w, np.zeros(1), {"stride": stride, "pad": pad, "dilation": dilation})
    message = re.escape(str(naive.value))
    for impl in (im2col, im2col_cython):
        with pytest.raises(ValueError, match=f"^{message}$"):
            impl(x, HH, WW, pad, stride, dilation)
    cols = np.zeros((1, 9, 1))
    for impl in (col2im, col2im_cython):
        with pytest.raises(ValueError, match=f"^{message}$"):
            impl(cols, *shape, HH, WW, pad, stride, dilation)


@task4_1
def test_x_must_be_4d():
    for impl in (im2col, im2col_cython):
        with pytest.raises(ValueError, match=re.escape("x must be 4-D (N, C, H, W), got shape (4, 4)")):
            impl(np.zeros((4, 4)), 2, 2, 0, 1)


@task4_2
def test_col2im_checks_the_columns_shape():
    for impl in (col2im, col2im_cython):
        with pytest.raises(ValueError, match=re.escape("cols has shape (1, 9, 4), expected (1, 9, 25)")):
            impl(np.zeros((1, 9, 4)), 1, 1, 5, 5, 3, 3, 1, 1)
        with pytest.raises(ValueError, match="must not be negative"):
            impl(np.zeros((1, 9, 4)), 1, -1, 5, 5, 3, 3, 1, 1)


# ---------------------------------------------------------------- the student's blank copy
@task4_1
@task4_2
def test_stubbed_pyx_keeps_wrappers_and_blanks_only_the_kernels():
    stub = student_text(PYX.read_text(), str(PYX))
    assert "pass  # YOUR CODE HERE (Notebook 04, task 4.1: im2col_kernel)" in stub
    assert "pass  # YOUR CODE HERE (Notebook 04, task 4.2: col2im_kernel)" in stub
    for kept in ("def im2col_cython(", "def col2im_cython(", "with nogil:", "def _result_array("):
        assert kept in stub
    # The kernel bodies are gone: no loops over the taps survive.
    assert "for kw in range(WW)" not in stub


@task4_1
@task4_2
def test_stubbed_pyx_still_cythonizes(tmp_path):
    stub = tmp_path / "im2col_cython.pyx"
    stub.write_text(student_text(PYX.read_text(), str(PYX)))
    result = subprocess.run([sys.executable, "-m", "cython", "-3", "--fast-fail", str(stub)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "im2col_cython.c").exists()


@pytest.mark.slow
@task4_1
@task4_2
def test_blank_student_copy_builds_and_fails_loudly(tmp_path):
    """Compile the stubbed package for real: every fast entry point raises NotImplementedError."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler")
    write_student_copy(ROOT / "cs_conv", tmp_path / "cs_conv")
    shutil.copy(ROOT / "setup.py", tmp_path / "setup.py")
    build = subprocess.run([sys.executable, "setup.py", "--quiet", "build_ext", "--inplace"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    probe = f"""
import numpy as np
import cs_conv, cs_conv.im2col_cython as m, cs_conv.fast_layers as f
assert cs_conv.__file__.startswith({str(tmp_path)!r}), cs_conv.__file__
x = np.zeros((1, 1, 4, 4))
calls = [lambda: m.im2col_cython(x, 2, 2, 0, 1),
         lambda: m.col2im_cython(np.zeros((1, 4, 9)), 1, 1, 4, 4, 2, 2, 0, 1),
         lambda: f.conv_forward_fast(x, np.zeros((1, 1, 2, 2)), np.zeros(1), {{"stride": 1, "pad": 0}}),
         lambda: f.max_pool_forward_fast(x, {{"pool_height": 2, "pool_width": 2, "stride": 2}})]
for call in calls:
    try:
        call()
    except NotImplementedError as error:
        print(error)
    else:
        print("NO ERROR")
"""
    run = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[0].startswith("Notebook 04, task 4.1: im2col_kernel"), lines
    assert lines[1].startswith("Notebook 04, task 4.2: col2im_kernel"), lines
    assert lines[2] == "Notebook 04, task 4.3: conv_forward_fast", lines
    assert lines[3] == "Notebook 04, task 4.5: max_pool_forward_fast", lines
