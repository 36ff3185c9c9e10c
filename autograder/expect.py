"""The two shapes most cases take: a forward pass returning ``(out, cache)``, and a backward pass
returning one gradient or a tuple of them. Each calls the student once and judges everything
about the answer: structure, plain ndarray, shape, dtype, values, and untouched inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder import judge
from autograder.cases import Context
from autograder.judge import Fail, Tolerance


def forward(ctx: Context, function: str, args: tuple[Any, ...], names: dict[str, np.ndarray],
            expected: np.ndarray, dtype: np.dtype | type, tol: Tolerance | None = None) -> None:
    """``out, cache = function(*args)``: out must match ``expected`` in shape, ``dtype`` and value."""
    answer = ctx.call(function, *args, select=[(0,)], names=names)
    out, _ = judge.unpack(answer.value, ("out", "cache"))
    got = judge.array(out, "out", expected.shape, dtype)
    problems = [judge.close(got, expected, "out", tol or judge.tolerance_for(dtype))]
    finish(problems, answer.mutated)


def gradients(ctx: Context, function: str, args: tuple[Any, ...], names: dict[str, np.ndarray],
              expected: dict[str, np.ndarray], dtype: np.dtype | type, tol: Tolerance | None = None,
              on: str | None = None) -> None:
    """A backward pass returning one array (``dx``) or a tuple in ``expected``'s order."""
    answer = ctx.call(function, *args, names=names, on=on)
    labels = list(expected)
    parts = (answer.value,) if len(labels) == 1 else judge.unpack(answer.value, labels)
    got = [judge.array(part, label, expected[label].shape, dtype) for part, label in zip(parts, labels, strict=True)]
    tol = tol or judge.tolerance_for(dtype)
    problems = [judge.close(g, expected[label], label, tol) for g, label in zip(got, labels, strict=True)]
    finish(problems, answer.mutated)


def finish(problems: list[str | None], mutated: list[str]) -> None:
    found = [p for p in problems if p]
    if mutated:
        found.append(f"modified its input {', '.join(mutated)} (inputs and caches must not change)")
    if found:
        raise Fail("; ".join(found))
