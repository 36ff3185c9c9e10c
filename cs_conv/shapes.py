"""Shape checks and output-size arithmetic shared by every conv and pool layer.

Given infrastructure: students do not write this module. The loop-based layers in
``layers.py`` and the im2col layers in ``fast_layers.py`` both call it, so a bad
input gets the same ``ValueError`` (with the same message) from either path.

Conventions (PyTorch's): cross-correlation, and along each spatial axis

    H_out = floor((H + 2*P - D*(HH - 1) - 1) / S) + 1

for a convolution with stride S, zero padding P and dilation D. Pooling uses the
same formula with D = 1, or ``ceil`` instead of ``floor`` when ``ceil_mode`` is
set, in which case a last window that would start in the right padding is dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONV_PARAM_KEYS = frozenset({"stride", "pad", "dilation", "groups"})
POOL_PARAM_KEYS = frozenset({"pool_height", "pool_width", "stride", "pad", "ceil_mode"})


@dataclass(frozen=True)
class ConvGeometry:
    """Every size a convolution needs, checked once.

    ``stride``, ``pad`` and ``dilation`` are ``(height, width)`` pairs.
    """

    N: int
    C: int
    H: int
    W: int
    F: int
    HH: int
    WW: int
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    H_out: int
    W_out: int

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.F, self.H_out, self.W_out)


@dataclass(frozen=True)
class PoolGeometry:
    """Every size a pooling layer needs, checked once (pairs are ``(height, width)``)."""

    N: int
    C: int
    H: int
    W: int
    pool: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    ceil_mode: bool
    H_out: int
    W_out: int

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.C, self.H_out, self.W_out)


def _is_int(value) -> bool:
    """A Python or NumPy integer; ``True``/``False`` are not accepted as sizes."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def as_pair(value, name: str) -> tuple[int, int]:
    """Read an int or a pair of ints as an ``(height, width)`` pair of Python ints.

    >>> as_pair(2, "stride"), as_pair((1, 3), "pad")
    ((2, 2), (1, 3))
    """
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        pair = tuple(value)
    else:
        pair = (value, value)
    if not all(_is_int(v) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def float_dtype(x: np.ndarray, name: str = "x") -> np.dtype:
    """The float dtype a layer computes and returns in: the input's own, or float64 for ints."""
    if np.issubdtype(x.dtype, np.floating):
        return x.dtype
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        return np.dtype(np.float64)
    raise ValueError(f"{name} must hold real numbers, got dtype {x.dtype}")


def _int_param(value, name: str) -> int:
    if not _is_int(value):
        raise ValueError(f"{name} must be an int, got {value!r}")
    return int(value)


def require_ndim(array: np.ndarray, ndim: int, name: str, layout: str) -> None:
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D {layout}, got shape {array.shape}")


def require_shape(array: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    if tuple(array.shape) != tuple(shape):
        raise ValueError(f"{name} has shape {tuple(array.shape)}, expected {tuple(shape)}")


def _reject_unknown_keys(param: dict, allowed: frozenset[str], name: str) -> None:
    unknown = sorted(set(param) - allowed)
    if unknown:
        raise ValueError(f"{name} has unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _at_least(pair: tuple[int, int], low: int, name: str) -> None:
    if min(pair) < low:
        raise ValueError(f"{name} must be at least {low}, got {pair}")


def conv_geometry(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, conv_param: dict) -> ConvGeometry:
    """Check a convolution's inputs and return its sizes.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C // groups, HH, WW)
    b : ndarray of shape (F,), or None to skip the bias check
    conv_param : dict with ``stride`` and ``pad`` (int or pair) and optional
        ``dilation`` (int or pair, default 1) and ``groups`` (int, default 1).

    >>> g = conv_geometry(np.zeros((2, 3, 7, 7)), np.zeros((4, 3, 3, 3)), np.zeros(4),
    ...                   {"stride": 2, "pad": 1})
    >>> g.out_shape
    (2, 4, 4, 4)
    """
    if not isinstance(conv_param, dict):
        raise ValueError(f"conv_param must be a dict, got {type(conv_param).__name__}")
    _reject_unknown_keys(conv_param, CONV_PARAM_KEYS, "conv_param")
    require_ndim(x, 4, "x", "(N, C, H, W)")
    require_ndim(w, 4, "w", "(F, C // groups, HH, WW)")
    N, C, H, W = x.shape
    F, C_per_group, HH, WW = w.shape
    float_dtype(w, "w")
    if b is not None:
        require_shape(b, (F,), "b")
        float_dtype(b, "b")

    stride = as_pair(conv_param.get("stride", 1), "stride")
    pad = as_pair(conv_param.get("pad", 0), "pad")
    dilation = as_pair(conv_param.get("dilation", 1), "dilation")
    groups = _int_param(conv_param.get("groups", 1), "groups")
    _at_least(stride, 1, "stride")
    _at_least(dilation, 1, "dilation")
    _at_least(pad, 0, "pad")
    if groups < 1:
        raise ValueError(f"groups must be at least 1, got {groups}")
    if C % groups:
        raise ValueError(f"groups={groups} does not divide the input channels C={C}")
    if F % groups:
        raise ValueError(f"groups={groups} does not divide the number of filters F={F}")
    if C_per_group * groups != C:
        raise ValueError(
            f"channel mismatch: w has {C_per_group} channels per filter, but x has C={C} "
            f"channels, so with groups={groups} each filter needs {C // groups}"
        )
    if min(HH, WW) < 1:
        raise ValueError(f"kernel {(HH, WW)} must be at least 1x1")

    padded = (H + 2 * pad[0], W + 2 * pad[1])
    reach = (dilation[0] * (HH - 1) + 1, dilation[1] * (WW - 1) + 1)
    if reach[0] > padded[0] or reach[1] > padded[1]:
        dilated = f" (dilated to {reach})" if reach != (HH, WW) else ""
        raise ValueError(f"kernel {(HH, WW)}{dilated} is larger than the padded input {padded}")
    H_out = (padded[0] - reach[0]) // stride[0] + 1
    W_out = (padded[1] - reach[1]) // stride[1] + 1
    return ConvGeometry(N, C, H, W, F, HH, WW, stride, pad, dilation, groups, H_out, W_out)


def _pool_out_size(size: int, window: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape for one axis."""
    span = size + 2 * pad - window
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    # With ceil_mode a last window may start in the right padding; PyTorch drops it.
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pool_geometry(x: np.ndarray, pool_param: dict) -> PoolGeometry:
    """Check a pooling layer's inputs and return its sizes.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    pool_param : dict with ``pool_height``, ``pool_width`` and optional ``stride``
        (int or pair, default the window), ``pad`` (int or pair, default 0, at most
        half the window) and ``ceil_mode`` (bool, default False).

    >>> g = pool_geometry(np.zeros((1, 1, 7, 7)),
    ...                   {"pool_height": 2, "pool_width": 2, "stride": 2, "ceil_mode": True})
    >>> g.out_shape
    (1, 1, 4, 4)
    """
    if not isinstance(pool_param, dict):
        raise ValueError(f"pool_param must be a dict, got {type(pool_param).__name__}")
    _reject_unknown_keys(pool_param, POOL_PARAM_KEYS, "pool_param")
    require_ndim(x, 4, "x", "(N, C, H, W)")
    N, C, H, W = x.shape
    for key in ("pool_height", "pool_width"):
        if key not in pool_param:
            raise ValueError(f"pool_param needs '{key}'")
    pool = (_int_param(pool_param["pool_height"], "pool_height"),
            _int_param(pool_param["pool_width"], "pool_width"))
    _at_least(pool, 1, "pool size")
    stride = as_pair(pool_param.get("stride", pool), "stride")
    pad = as_pair(pool_param.get("pad", 0), "pad")
    ceil_mode = pool_param.get("ceil_mode", False)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise ValueError(f"ceil_mode must be True or False, got {ceil_mode!r}")
    _at_least(stride, 1, "stride")
    _at_least(pad, 0, "pad")
    if pad[0] > pool[0] // 2 or pad[1] > pool[1] // 2:
        raise ValueError(f"pad {pad} must be at most half the pool window {pool}")
    padded = (H + 2 * pad[0], W + 2 * pad[1])
    if pool[0] > padded[0] or pool[1] > padded[1]:
        raise ValueError(f"pool window {pool} is larger than the padded input {padded}")
    H_out = _pool_out_size(H, pool[0], stride[0], pad[0], bool(ceil_mode))
    W_out = _pool_out_size(W, pool[1], stride[1], pad[1], bool(ceil_mode))
    return PoolGeometry(N, C, H, W, pool, stride, pad, bool(ceil_mode), H_out, W_out)


def pool_window(g: PoolGeometry, i: int, j: int) -> tuple[slice, slice, int]:
    """Output cell ``(i, j)``'s window in padded coordinates, and its average-pool divisor.

    The window is clipped to the padded input (only ``ceil_mode`` windows overhang it).
    The divisor counts padding cells but not the overhang, as PyTorch's AvgPool2d
    does with its default ``count_include_pad=True``.
    """
    top, left = i * g.stride[0], j * g.stride[1]
    bottom = min(top + g.pool[0], g.H + 2 * g.pad[0])
    right = min(left + g.pool[1], g.W + 2 * g.pad[1])
    return slice(top, bottom), slice(left, right), (bottom - top) * (right - left)
