"""Fast conv and pool layers (tasks 4.3-4.8) against the naive loops of ``layers.py``.

Oracles: hand-traceable cases built from ``10*i + j``, central-difference gradients,
and parity with the naive layers over random geometries (hypothesis), in float32 and
float64, including the errors they raise and the promise never to modify an input.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cs_conv import fast_layers as fast
from cs_conv import layers as naive
from cs_conv.gradient_check import eval_numerical_gradient_array, rel_error

ROOT = Path(__file__).resolve().parent.parent
TOL = {np.float32: 2e-4, np.float64: 1e-10}

task4_3 = pytest.mark.task4_3
task4_4 = pytest.mark.task4_4
task4_5 = pytest.mark.task4_5
task4_6 = pytest.mark.task4_6
task4_7 = pytest.mark.task4_7
task4_8 = pytest.mark.task4_8


def traceable(shape):
    """x[n, c, i, j] = 1000*n + 100*c + 10*i + j."""
    n, c, i, j = np.meshgrid(*(np.arange(s) for s in shape), indexing="ij")
    return (1000 * n + 100 * c + 10 * i + j).astype(np.float64)


def copies(*arrays):
    return [np.array(a, copy=True) for a in arrays]


def assert_unchanged(originals, arrays, what):
    for before, after in zip(originals, arrays, strict=True):
        np.testing.assert_array_equal(after, before, err_msg=f"{what} modified an input")


def assert_close(got, expected, dtype, name):
    assert got.dtype == expected.dtype, f"{name}: dtype {got.dtype}, expected {expected.dtype}"
    assert got.shape == expected.shape, f"{name}: shape {got.shape}, expected {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0)))
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype] * scale, err_msg=name)


# ================================================================== convolution
@task4_3
def test_conv_forward_tiny_case_by_hand():
    x = traceable((1, 1, 3, 3))
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # x[i, j] - x[i + 1, j + 1] = -11 everywhere
    out, _ = fast.conv_forward_fast(x, w, np.array([5.0]), {"stride": 1, "pad": 0})
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), -6.0))


@task4_3
def test_conv_forward_rectangular_kernel_pad_and_stride_pairs_by_hand():
    x = traceable((1, 1, 3, 4))
    w = np.array([[[[1.0, 100.0]]]])  # out = xpad[2i, 2j] + 100 * xpad[2i, 2j + 1]
    out, _ = fast.conv_forward_fast(x, w, np.zeros(1), {"stride": (2, 2), "pad": (0, 1)})
    # Padding is one column on each side, so xpad[r, z] = x[r, z - 1].
    np.testing.assert_array_equal(out[0, 0], [[0, 201, 3], [2000, 2221, 23]])


@task4_3
def test_conv_groups_by_hand():
    x = traceable((1, 2, 2, 2))  # channel 1 is channel 0 plus 100
    w = np.ones((2, 1, 2, 2))     # group 0 sees channel 0 only, group 1 channel 1 only
    out, _ = fast.conv_forward_fast(x, w, np.zeros(2), {"stride": 1, "pad": 0, "groups": 2})
    np.testing.assert_array_equal(out[0, :, 0, 0], [0 + 1 + 10 + 11, 400 + 22])


@task4_4
@pytest.mark.parametrize("conv_param", [
    {"stride": 1, "pad": 1},
    {"stride": (2, 1), "pad": (0, 2), "dilation": (1, 2)},
    {"stride": 2, "pad": 1, "groups": 2},
], ids=["s1p1", "pairs-dilated", "groups"])
def test_conv_backward_matches_numeric_gradients(conv_param):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 6, 5))
    w = rng.standard_normal((4, 4 // conv_param.get("groups", 1), 3, 2))
    b = rng.standard_normal(4)
    out, cache = fast.conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = fast.conv_backward_fast(dout, cache)
    forward = lambda **kw: fast.conv_forward_fast(kw.get("x", x), kw.get("w", w), kw.get("b", b), conv_param)[0]
    for name, got, numeric in (
        ("dx", dx, eval_numerical_gradient_array(lambda v: forward(x=v), x.copy(), dout)),
        ("dw", dw, eval_numerical_gradient_array(lambda v: forward(w=v), w.copy(), dout)),
        ("db", db, eval_numerical_gradient_array(lambda v: forward(b=v), b.copy(), dout)),
    ):
        assert rel_error(got, numeric) < 1e-7, f"{name} off for {conv_param}"


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    N = draw(st.integers(0, 3))
    C = groups * draw(st.integers(1, 2))
    F = groups * draw(st.integers(1, 2))
    H, W = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    HH, WW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    conv_param = {
        "stride": draw(st.sampled_from([1, 2, 3, (1, 2), (3, 1)])),
        "pad": draw(st.sampled_from([0, 1, 2, (0, 1), (2, 0)])),
        "dilation": draw(st.sampled_from([1, 2, (1, 2)])),
        "groups": groups,
    }
    return (N, C, H, W), (F, C // groups, HH, WW), conv_param


@settings(deadline=None, max_examples=60)
@given(conv_cases(), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1), st.integers(1, 3))
@task4_3
@task4_4
def test_conv_fast_matches_naive(case, dtype, seed, workers):
    """Also on 1-3 worker threads, whatever the machine's cores."""
    with mock.patch.object(fast, "workers_for", lambda n_items, flops_per_item: max(1, min(workers, n_items))):
        check_conv_fast_matches_naive(case, dtype, seed)


def check_conv_fast_matches_naive(case, dtype, seed):
    x_shape, w_shape, conv_param = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    try:
        expected, naive_cache = naive.conv_forward_naive(x, w, b, conv_param)
    except ValueError:
        assume(False)
    originals = copies(x, w, b)
    param_before = dict(conv_param)
    out, cache = fast.conv_forward_fast(x, w, b, conv_param)
    assert_close(out, expected, dtype, f"out {case}")
    # The cache is the inputs themselves: no columns are kept.
    assert len(cache) == 4 and all(a is e for a, e in zip(cache, (x, w, b, conv_param), strict=True))
    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_before = dout.copy()
    for got, want, name in zip(fast.conv_backward_fast(dout, cache),
                               naive.conv_backward_naive(dout, naive_cache), ("dx", "dw", "db"), strict=True):
        assert_close(got, want, dtype, f"{name} {case}")
    assert_unchanged(originals + [dout_before], [x, w, b, dout], "conv_fast")
    assert conv_param == param_before


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("N", [1, 5, 7])
@task4_3
@task4_4
def test_conv_chunk_boundaries(monkeypatch, N, workers):
    """Chunks of 1, 2 and 3 images, on 1-3 worker threads: every image is done once."""
    rng = np.random.default_rng(N)
    x, w, b = rng.standard_normal((N, 4, 6, 6)), rng.standard_normal((6, 2, 3, 3)), rng.standard_normal(6)
    conv_param = {"stride": 1, "pad": 1, "groups": 2}
    expected, naive_cache = naive.conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(expected.shape)
    expected_grads = naive.conv_backward_naive(dout, naive_cache)
    bytes_per_image = 4 * 9 * 36 * 8  # C*HH*WW * H_out*W_out * 8 bytes of columns
    monkeypatch.setattr(fast, "CHUNK_FRACTION", 1e9)  # let CHUNK_BYTES alone decide
    monkeypatch.setattr(fast, "workers_for", lambda n_items, flops_per_item: min(workers, n_items))
    for images in (1, 2, 3):
        monkeypatch.setattr(fast, "CHUNK_BYTES", images * bytes_per_image)
        assert fast.images_per_chunk(N, bytes_per_image, 10**9) == min(N, images)
        # Each worker's chunk holds at most its share of the images, ceil(N / workers).
        assert fast.images_per_chunk(N, bytes_per_image, 10**9, workers) == min(-(-N // workers), images)
        out, cache = fast.conv_forward_fast(x, w, b, conv_param)
        assert_close(out, expected, np.float64, f"out, chunks of {images}")
        for got, want, name in zip(fast.conv_backward_fast(dout, cache), expected_grads, "xwb", strict=True):
            assert_close(got, want, np.float64, f"d{name}, chunks of {images}")


@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.float32, np.float64, np.bool_])
@task4_3
@task4_4
def test_conv_dtypes_follow_the_naive_layer(dtype):
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, (2, 2, 5, 5)).astype(dtype)
    w = rng.integers(-2, 3, (3, 2, 3, 3)).astype(dtype)
    b = np.ones(3, dtype=dtype)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = fast.conv_forward_fast(x, w, b, conv_param)
    expected, naive_cache = naive.conv_forward_naive(x, w, b, conv_param)
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out.astype(np.float64), expected.astype(np.float64), rtol=1e-3)
    dout = np.ones(out.shape, dtype=out.dtype)
    for got, want in zip(fast.conv_backward_fast(dout, cache), naive.conv_backward_naive(dout, naive_cache),
                         strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-3)


@task4_4
def test_conv_backward_accepts_the_naive_cache_and_vice_versa():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv_param = {"stride": 1, "pad": 1}
    out, naive_cache = naive.conv_forward_naive(x, w, b, conv_param)
    _, fast_cache = fast.conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    for got, want in zip(fast.conv_backward_fast(dout, naive_cache), naive.conv_backward_naive(dout, fast_cache),
                         strict=True):
        assert_close(got, want, np.float64, "cross caches")


# ---------------------------------------------------------------- conv errors
def _conv_bad_inputs():
    x, w, b = np.zeros((2, 3, 5, 5)), np.zeros((4, 3, 3, 3)), np.zeros(4)
    ok = {"stride": 1, "pad": 1}
    return {
        "x not 4-D": (np.zeros((3, 5, 5)), w, b, ok),
        "w not 4-D": (x, np.zeros((4, 27)), b, ok),
        "b shape": (x, w, np.zeros(3), ok),
        "channels": (x, np.zeros((4, 2, 3, 3)), b, ok),
        "groups do not divide C": (x, np.zeros((4, 1, 3, 3)), b, {**ok, "groups": 2}),
        "groups do not divide F": (np.zeros((2, 4, 5, 5)), np.zeros((3, 2, 3, 3)), np.zeros(3),
                                   {**ok, "groups": 2}),
        "kernel too large": (x, np.zeros((4, 3, 9, 9)), b, ok),
        "dilated kernel too large": (x, w, b, {"stride": 1, "pad": 0, "dilation": 3}),
        "unknown key": (x, w, b, {**ok, "padding": 1}),
        "stride 0": (x, w, b, {"stride": 0, "pad": 1}),
        "negative pad": (x, w, b, {"stride": 1, "pad": (1, -1)}),
        "stride not int": (x, w, b, {"stride": 1.0, "pad": 1}),
        "dilation 0": (x, w, b, {**ok, "dilation": 0}),
        "groups 0": (x, w, b, {**ok, "groups": 0}),
        "conv_param not a dict": (x, w, b, [("stride", 1)]),
        "complex x": (x.astype(complex), w, b, ok),
    }


@pytest.mark.parametrize("name", list(_conv_bad_inputs()))
@task4_3
def test_conv_forward_errors_match_the_naive_layer(name):
    args = _conv_bad_inputs()[name]
    with pytest.raises(ValueError) as expected:
        naive.conv_forward_naive(*args)
    with pytest.raises(ValueError, match=f"^{re.escape(str(expected.value))}$"):
        fast.conv_forward_fast(*args)


@task4_4
def test_conv_backward_checks_dout_like_the_naive_layer():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    _, cache = fast.conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    bad = np.zeros((2, 4, 5, 4))
    with pytest.raises(ValueError) as expected:
        naive.conv_backward_naive(bad, cache)
    with pytest.raises(ValueError, match=f"^{re.escape(str(expected.value))}$"):
        fast.conv_backward_fast(bad, cache)


# ================================================================== pooling
MAX = (fast.max_pool_forward_fast, fast.max_pool_backward_fast,
       naive.max_pool_forward_naive, naive.max_pool_backward_naive)
AVG = (fast.avg_pool_forward_fast, fast.avg_pool_backward_fast,
       naive.avg_pool_forward_naive, naive.avg_pool_backward_naive)


@task4_5
@task4_7
def test_pool_forward_by_hand_with_ceil_mode():
    x = traceable((1, 1, 5, 5))
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2, "ceil_mode": True}
    out, _ = fast.max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out[0, 0], [[11, 13, 14], [31, 33, 34], [41, 43, 44]])
    avg, _ = fast.avg_pool_forward_fast(x, pool_param)
    # The last windows hang past the input and average only the cells that exist.
    np.testing.assert_array_equal(avg[0, 0], [[5.5, 7.5, 9.0], [25.5, 27.5, 29.0], [40.5, 42.5, 44.0]])


@task4_5
@task4_7
def test_pool_forward_by_hand_with_overlap_rectangle_and_pad():
    x = traceable((1, 1, 5, 5))
    out, _ = fast.max_pool_forward_fast(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    np.testing.assert_array_equal(out[0, 0], [[22, 24], [42, 44]])
    pool_param = {"pool_height": 2, "pool_width": 3, "stride": (3, 2), "pad": (1, 1)}
    out, _ = fast.max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out[0, 0], [[1, 3, 4], [31, 33, 34]])
    avg, _ = fast.avg_pool_forward_fast(x, pool_param)  # padding counts in the divisor (6)
    np.testing.assert_allclose(avg[0, 0], np.array([[1, 6, 7], [102, 162, 114]]) / 6)


@task4_6
def test_max_pool_backward_ties_go_to_the_first_maximum():
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2}
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    dx = fast.max_pool_backward_fast(dout, (np.ones((1, 1, 5, 5)), pool_param))
    expected = np.zeros((5, 5))
    expected[0, 0], expected[0, 2], expected[2, 0], expected[2, 2] = 1, 2, 3, 4  # each window's top-left
    np.testing.assert_array_equal(dx[0, 0], expected)
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0  # the cell all four overlapping windows share
    dx = fast.max_pool_backward_fast(dout, (x, pool_param))
    assert dx[0, 0, 2, 2] == 10 and dx.sum() == 10


@task4_5
@task4_6
def test_max_pool_nan_and_minus_infinity_like_the_naive_layer():
    x = np.full((1, 2, 5, 5), -np.inf)
    x[0, 1] = np.arange(25.0).reshape(5, 5)
    x[0, 1, 1, 1] = x[0, 1, 3, 0] = np.nan
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1, "ceil_mode": True}
    expected, cache = naive.max_pool_forward_naive(x, pool_param)
    out, _ = fast.max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out, expected)  # equal_nan by default for assert_array_equal
    dout = np.arange(1.0, 1.0 + out.size).reshape(out.shape)
    np.testing.assert_array_equal(fast.max_pool_backward_fast(dout, cache),
                                  naive.max_pool_backward_naive(dout, cache))


@st.composite
def pool_cases(draw):
    pool = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    pool_param = {
        "pool_height": pool[0],
        "pool_width": pool[1],
        "stride": draw(st.sampled_from([1, 2, 3, (1, 2), (2, 1)])),
        "pad": (draw(st.integers(0, pool[0] // 2)), draw(st.integers(0, pool[1] // 2))),
        "ceil_mode": draw(st.booleans()),
    }
    shape = (draw(st.integers(0, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 8)), draw(st.integers(1, 8)))
    return shape, pool_param


@settings(deadline=None, max_examples=60)
@given(pool_cases(), st.sampled_from(["max", "avg"]), st.sampled_from([np.float32, np.float64]),
       st.integers(0, 2**32 - 1))
@task4_5
@task4_6
@task4_7
@task4_8
def test_pools_fast_match_naive(case, kind, dtype, seed):
    shape, pool_param = case
    forward, backward, naive_forward, naive_backward = MAX if kind == "max" else AVG
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, shape).astype(dtype)  # few distinct values: many ties
    try:
        expected, naive_cache = naive_forward(x, pool_param)
    except ValueError:
        assume(False)
    x_before, param_before = x.copy(), dict(pool_param)
    out, cache = forward(x, pool_param)
    assert cache[0] is x and cache[1] is pool_param and len(cache) == 2
    assert_close(out, expected, dtype, f"{kind} out {case}")
    dout = rng.standard_normal(out.shape).astype(dtype)
    dout_before = dout.copy()
    assert_close(backward(dout, cache), naive_backward(dout, naive_cache), dtype, f"{kind} dx {case}")
    assert_unchanged([x_before, dout_before], [x, dout], kind)
    assert pool_param == param_before


@pytest.mark.parametrize("windows", [1, 40, 80, 10**6])
@task4_5
@task4_6
@task4_7
@task4_8
def test_pool_chunk_boundaries(monkeypatch, windows):
    monkeypatch.setattr(fast, "POOL_CHUNK_WINDOWS", windows)  # 1, 1 and 2 images of 2*5*4 windows
    monkeypatch.setattr(fast, "CHUNK_FRACTION", 1e9)
    rng = np.random.default_rng(windows)
    x = rng.integers(-3, 4, (7, 2, 9, 8)).astype(np.float64)
    pool_param = {"pool_height": 3, "pool_width": 2, "stride": 2, "pad": 1, "ceil_mode": True}
    for forward, backward, naive_forward, naive_backward in (MAX, AVG):
        expected, naive_cache = naive_forward(x, pool_param)
        out, cache = forward(x, pool_param)
        assert_close(out, expected, np.float64, forward.__name__)
        dout = rng.standard_normal(out.shape)
        assert_close(backward(dout, cache), naive_backward(dout, naive_cache), np.float64, backward.__name__)


@pytest.mark.parametrize("dtype", [np.int16, np.float16, np.float32, np.float64])
@task4_5
@task4_6
@task4_7
@task4_8
def test_pool_dtypes_follow_the_naive_layer(dtype):
    x = np.random.default_rng(5).integers(-5, 6, (2, 3, 6, 6)).astype(dtype)
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1}
    for forward, backward, naive_forward, naive_backward in (MAX, AVG):
        out, cache = forward(x, pool_param)
        expected, naive_cache = naive_forward(x, pool_param)
        assert out.dtype == expected.dtype, forward.__name__
        np.testing.assert_allclose(out.astype(float), expected.astype(float), rtol=1e-3)
        dout = np.ones(out.shape, dtype=out.dtype)
        dx, naive_dx = backward(dout, cache), naive_backward(dout, naive_cache)
        assert dx.dtype == naive_dx.dtype, backward.__name__
        np.testing.assert_allclose(dx.astype(float), naive_dx.astype(float), rtol=1e-3)


def _pool_bad_inputs():
    x = np.zeros((2, 3, 6, 6))
    return {
        "x not 4-D": (np.zeros((3, 6, 6)), {"pool_height": 2, "pool_width": 2}),
        "unknown key": (x, {"pool_height": 2, "pool_width": 2, "padding": 1}),
        "missing pool_width": (x, {"pool_height": 2}),
        "pad more than half": (x, {"pool_height": 2, "pool_width": 2, "pad": 2}),
        "window too large": (x, {"pool_height": 7, "pool_width": 2}),
        "stride 0": (x, {"pool_height": 2, "pool_width": 2, "stride": 0}),
        "ceil_mode not bool": (x, {"pool_height": 2, "pool_width": 2, "ceil_mode": 1}),
        "pool_param not a dict": (x, None),
        "complex x": (x.astype(complex), {"pool_height": 2, "pool_width": 2}),
    }


@pytest.mark.parametrize("name", list(_pool_bad_inputs()))
@task4_5
@task4_7
def test_pool_forward_errors_match_the_naive_layer(name):
    x, pool_param = _pool_bad_inputs()[name]
    for forward, naive_forward in ((fast.max_pool_forward_fast, naive.max_pool_forward_naive),
                                   (fast.avg_pool_forward_fast, naive.avg_pool_forward_naive)):
        with pytest.raises(ValueError) as expected:
            naive_forward(x, pool_param)
        with pytest.raises(ValueError, match=f"^{re.escape(str(expected.value))}$"):
            forward(x, pool_param)


@task4_6
@task4_8
def test_pool_backward_checks_dout_like_the_naive_layer():
    cache = (np.zeros((2, 3, 6, 6)), {"pool_height": 2, "pool_width": 2, "stride": 2})
    bad = np.zeros((2, 3, 3, 2))
    for backward, naive_backward in ((fast.max_pool_backward_fast, naive.max_pool_backward_naive),
                                     (fast.avg_pool_backward_fast, naive.avg_pool_backward_naive)):
        with pytest.raises(ValueError) as expected:
            naive_backward(bad, cache)
        with pytest.raises(ValueError, match=f"^{re.escape(str(expected.value))}$"):
            backward(bad, cache)


# ================================================================== no silent fallback
@task4_3
def test_import_without_the_extension_says_how_to_build_it():
    """Simulate a missing build: a None entry in sys.modules makes the import fail."""
    probe = textwrap.dedent("""
        import sys
        sys.modules["cs_conv.im2col_cython"] = None
        try:
            import cs_conv.fast_layers
        except ImportError as error:
            print(error)
        else:
            print("IMPORTED")
    """)
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    message = run.stdout
    assert "IMPORTED" not in message
    assert "cs_conv.im2col_cython" in message
    assert "make build" in message and "python setup.py build_ext --inplace" in message
