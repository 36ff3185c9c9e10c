"""Verdicts on what the student's code returned, in words that say what is wrong and never the answer.

A case raises ``Fail`` with a message such as ``dw relative error 3.1e-01, needs < 1e-7``;
the message names the output, its shape or dtype and the size of the error, but
never an expected value. Structure comes first (a tuple of the right length, a
plain ``ndarray``, the shape, the dtype), then values, then whether inputs changed.

The relative error of ``a`` against ``e`` is

    max_i |a_i - e_i| / max(|a_i| + |e_i|, floor),   floor = max(1e-8, tol.floor * max_i |e_i|)

which is CS231n's ``rel_error`` for entries of ordinary size, and an error relative
to the array's scale for entries far smaller than the rest (where rounding, not a
bug, makes the elementwise ratio large).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.student import Answer, Mapping, Other, Returned, Scalar, Seq


class Fail(Exception):
    """The case failed; the message is the feedback."""


@dataclass(frozen=True)
class Tolerance:
    limit: float
    floor: float

    def __str__(self) -> str:
        return scientific(self.limit)


FLOAT64 = Tolerance(1e-7, 1e-6)
FLOAT32 = Tolerance(1e-4, 1e-2)
EXACT = Tolerance(1e-12, 0.0)  # values copied, not computed (max pooling, im2col)


def tolerance_for(dtype: np.dtype | type) -> Tolerance:
    return FLOAT32 if np.dtype(dtype) == np.float32 else FLOAT64


def scientific(value: float) -> str:
    """``1e-07`` as ``1e-7``, ``3.1e-01`` stays as it is."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def relative_error(actual: np.ndarray, expected: np.ndarray, floor: float) -> float:
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.size == 0:
        return 0.0
    bad = ~np.isfinite(a)
    if bad.any():
        return float("inf")
    scale = float(np.max(np.abs(e)))
    denominator = np.maximum(np.abs(a) + np.abs(e), max(1e-8, floor * scale))
    return float(np.max(np.abs(a - e) / denominator))


def describe(value: Any) -> str:
    """What a returned value is, in a few words."""
    if isinstance(value, Returned):
        return f"a {value.type_name} of shape {value.shape}"
    if isinstance(value, Scalar):
        return f"a {value.type_name}"
    if isinstance(value, Seq):
        return f"a {value.type_name} of {value.length}"
    if isinstance(value, Mapping):
        return f"a {value.type_name} of {value.length} entries"
    if isinstance(value, Other):
        return f"a {value.type_name}"
    return "None"


def unpack(value: Any, names: Sequence[str]) -> tuple[Any, ...]:
    """The parts of a returned tuple, e.g. ``unpack(v, ("dx", "dw", "db"))``."""
    wanted = f"({', '.join(names)})"
    if not isinstance(value, Seq) or value.length != len(names):
        raise Fail(f"returned {describe(value)}, expected a tuple {wanted}")
    return value.items


def array(value: Any, name: str, shape: tuple[int, ...], dtype: np.dtype | type | None) -> np.ndarray:
    """The returned array called ``name``, after checking its type, shape and dtype.

    Shape and dtype are those of the array the parent decoded from the reply's bytes, never
    the labels the reply puts beside it: a hostile process can write any label (a float64
    answer called float32), but ``protocol.decode_body`` makes the bytes match the array.
    """
    if not isinstance(value, Returned):
        raise Fail(f"{name} is {describe(value)}, expected a numpy array of shape {shape}")
    if value.type_name != "ndarray":
        raise Fail(f"{name} is a {value.type_name}, expected a plain numpy.ndarray")
    got = value.array
    if got is None:  # the runner sends no bytes for object, string or other non-number dtypes
        raise Fail(f"{name} has dtype {value.dtype}, which is not a number type")
    if got.shape != tuple(shape):
        raise Fail(f"{name} has shape {got.shape}, expected {tuple(shape)}")
    if dtype is not None and got.dtype != np.dtype(dtype):
        raise Fail(f"{name} has dtype {got.dtype.name}, expected {np.dtype(dtype).name}")
    return got


def scalar(value: Any, name: str) -> float:
    """A returned real number (a Python or NumPy float, or a 0-d array).

    ``float()`` cannot overflow here: ``protocol.decode_body`` refuses integers no float can hold.
    """
    if isinstance(value, Scalar) and not isinstance(value.value, bool):
        return float(value.value)
    if isinstance(value, Returned) and value.array is not None and value.array.shape == ():
        return float(value.array)
    raise Fail(f"{name} is {describe(value)}, expected a float")


def could_not_judge(error: Exception) -> str:
    """The reason a case fails when judging its answer raised ``error`` instead of passing or failing.

    Only the exception's type: its message could hold the grader's own numbers, and feedback
    never shows an expected value (the instructor's diagnostics keep the whole message).
    """
    return f"the grader could not judge this answer ({type(error).__name__}); the case scores 0"


def close(actual: np.ndarray, expected: np.ndarray, name: str, tol: Tolerance) -> str | None:
    """None if ``actual`` matches ``expected`` within ``tol``, else the complaint."""
    if not np.all(np.isfinite(actual)):
        return f"{name} has inf or nan entries"
    error = relative_error(actual, expected, tol.floor)
    if error < tol.limit:
        return None
    return f"{name} relative error {error:.1e}, needs < {tol}"


def values(*comparisons: tuple[np.ndarray, np.ndarray, str, Tolerance]) -> None:
    """Compare every ``(actual, expected, name, tol)``; fail with all the complaints at once."""
    problems = [p for p in (close(*c) for c in comparisons) if p]
    if problems:
        raise Fail("; ".join(problems))


def untouched(answer: Answer) -> None:
    if answer.mutated:
        raise Fail(f"modified its input {', '.join(answer.mutated)} (inputs and caches must not change)")


def float_dtype(dtype: np.dtype | type) -> np.dtype:
    """The dtype a layer must return for an input of ``dtype``: floats kept, everything else float64."""
    dtype = np.dtype(dtype)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
