"""The two shapes most cases take: a forward pass returning ``(out, cache)``, and a backward pass
returning one gradient or a tuple of them. Each calls the student once and judges everything
about the answer: structure, plain ndarray, shape, dtype, values, and untouched inputs.

A backward pass is judged on the cache the student's own forward pass made when that forward
passes the same case (as CS231n's own checks do: students keep ``x_pad``, columns or argmaxes in
their caches), and on the documented cache built here otherwise, so a broken forward pass does not
cost the backward pass its points. A failure's message says which cache it was.

When values are wrong, ``autograder.hints`` compares them with the grader's own known-wrong
variants and names the mistake they match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder import judge
from autograder.cases import Context
from autograder.judge import Fail, Tolerance
from autograder.student import Mapping, Ref, Returned, Scalar, Seq, StudentFailure

KEPT = "forward"  # the name the student's forward result is kept under in its process
Hint = Callable[[dict[str, np.ndarray]], str | None]  # arrays returned, by name, any shape -> a hint or None


def forward_problems(value: Any, expected: np.ndarray, dtype: np.dtype | type, tol: Tolerance | None,
                     hint: Hint | None = None) -> list[str]:
    """What is wrong with ``(out, cache)`` against ``expected`` (empty when nothing is); raises for structure."""
    out, _ = judge.unpack(value, ("out", "cache"))
    return judged({"out": out}, {"out": expected}, dtype, tol or judge.tolerance_for(dtype), hint)


def judged(parts: dict[str, Any], expected: dict[str, np.ndarray], dtype: np.dtype | type | None,
           tol: Tolerance, hint: Hint | None) -> list[str]:
    """The complaints about returned ``parts`` against ``expected`` (empty: all right), with a hint if one fits.

    Raises ``Fail`` for a part of the wrong type, shape or dtype; a hint may explain a wrong shape too.
    """
    raw = {k: p.array for k, p in parts.items() if isinstance(p, Returned) and p.array is not None}
    try:
        got = {k: judge.array(parts[k], k, expected[k].shape, dtype) for k in expected}
    except Fail as fail:
        said = hint(raw) if hint is not None else None
        raise Fail(f"{fail}: {said}" if said else str(fail)) from None
    problems = [p for p in (judge.close(got[k], expected[k], k, tol) for k in expected) if p]
    said = hint(raw) if problems and hint is not None else None
    return [*problems, said] if said else problems


def forward(ctx: Context, function: str, args: tuple[Any, ...], names: dict[str, np.ndarray],
            expected: np.ndarray, dtype: np.dtype | type, tol: Tolerance | None = None,
            hint: Hint | None = None) -> None:
    """``out, cache = function(*args)``: out must match ``expected`` in shape, ``dtype`` and value."""
    answer = ctx.call(function, *args, select=[(0,)], names=names)
    finish(forward_problems(answer.value, expected, dtype, tol, hint), answer.mutated)


@dataclass(frozen=True)
class Cache:
    """The cache a backward pass is handed, and what a failure message says about it."""

    sent: Any  # the documented tuple, or a ``Ref`` to the student's own forward's cache
    kept: Any  # the student's cache as its forward returned it (None for the documented one)
    says: str

    @property
    def own(self) -> bool:
        return self.kept is not None


def cache_for(ctx: Context, forward_name: str, args: tuple[Any, ...], names: dict[str, np.ndarray],
              expected: np.ndarray, dtype: np.dtype | type, documented: Any, what: str,
              tol: Tolerance | None = None) -> Cache:
    """The student's own ``forward_name`` cache if that forward passes this case, else ``documented``.

    ``what`` names the documented cache in messages: ``"(x, w, b, conv_param)"``.
    """
    fallback = f"judged on the documented cache {what}: your {forward_name} "
    if ctx.memo.get(KEPT):
        return Cache(documented, None, fallback + ctx.memo[KEPT])
    spent = ctx.spent
    try:
        answer = ctx.call(forward_name, *args, keep=KEPT, names=names)
    except StudentFailure as failure:
        if failure.kind == "timeout" and ctx.budget.left() <= 0:
            raise  # the submission's budget is used up: there is no time left for the backward pass either
        if failure.kind == "timeout":  # do not wait for it again in every case of this check
            ctx.memo[KEPT] = "timed out in an earlier case"
        ctx.spent = spent  # a forward pass that failed costs the backward pass none of its time
        return Cache(documented, None, fallback + f"failed on this case ({failure.kind})")
    try:
        problems = forward_problems(answer.value, expected, dtype, tol)
    except Fail:
        problems = ["structure"]
    if problems or answer.mutated:
        return Cache(documented, None, fallback + "did not pass this case")
    assert isinstance(answer.value, Seq)
    return Cache(Ref(KEPT, (1,)), answer.value.items[1], f"judged on the cache your {forward_name} returned")


def gradients(ctx: Context, function: str, args: tuple[Any, ...], names: dict[str, np.ndarray],
              expected: dict[str, np.ndarray], dtype: np.dtype | type, tol: Tolerance | None = None,
              on: str | None = None, cache: Cache | None = None, hint: Hint | None = None) -> None:
    """A backward pass returning one array (``dx``) or a tuple in ``expected``'s order.

    With ``cache`` the call is ``function(args[0], cache.sent)`` and a failure says which cache it was.
    """
    if cache is not None:
        args = (args[0], cache.sent)
    try:
        answer = ctx.call(function, *args, names=names, on=on)
    except StudentFailure as failure:
        if cache is None:
            raise
        raise StudentFailure(failure.kind, f"{failure.message} ({cache.says})") from None
    try:
        labels = list(expected)
        parts = (answer.value,) if len(labels) == 1 else judge.unpack(answer.value, labels)
        problems = judged(dict(zip(labels, parts, strict=True)), expected, dtype,
                          tol or judge.tolerance_for(dtype), hint)
        mutated = list(answer.mutated)
        if cache is not None and cache.own and not same(_cache_now(ctx), cache.kept):
            mutated.append("cache")
        finish(problems, mutated)
    except Fail as fail:
        raise Fail(f"{fail} ({cache.says})" if cache is not None else str(fail)) from None


def _cache_now(ctx: Context) -> Any:
    """The student's kept cache as it is now, after the backward pass was handed it."""
    return ctx.call("__getitem__", 1, on=KEPT).value


def same(a: Any, b: Any) -> bool:
    """Whether two returned values hold the same arrays and numbers (a cache before and after)."""
    if isinstance(a, Returned) and isinstance(b, Returned):
        if a.array is None or b.array is None:
            return a.shape == b.shape and a.dtype == b.dtype
        return a.array.dtype == b.array.dtype and a.array.shape == b.array.shape and \
            a.array.tobytes() == b.array.tobytes()
    if isinstance(a, Seq) and isinstance(b, Seq):
        return a.length == b.length and all(same(x, y) for x, y in zip(a.items, b.items, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.items.keys() == b.items.keys() and all(same(a.items[k], b.items[k]) for k in a.items)
    if isinstance(a, Scalar) and isinstance(b, Scalar):
        return a.value == b.value
    return type(a) is type(b)


def finish(problems: list[str] | list[str | None], mutated: list[str]) -> None:
    found = [p for p in problems if p]
    if mutated:
        found.append(f"modified its input {', '.join(mutated)} (inputs and caches must not change)")
    if found:
        raise Fail("; ".join(found))
