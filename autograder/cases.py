"""What a check is: named cases, each worth points, each a small function of a ``Context``.

A case draws its inputs from its own seeded generator (the seed is fixed by the
case's name, so re-grading feeds the same inputs), calls the student's function
through the context, and raises ``judge.Fail`` or lets ``StudentFailure``
propagate; returning normally is a pass. Expected values are computed here, in
the trusted parent, and never sent anywhere.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.student import Answer, Student


@dataclass(frozen=True)
class Case:
    function: str  # the student function judged: the test name's prefix
    name: str  # the case: the test name after the colon
    points: float
    run: Callable[[Context], None]
    random: bool = True  # whether the inputs come from the seed (then the report records it)

    @property
    def title(self) -> str:
        return f"{self.function}: {self.name}"

    @property
    def seed(self) -> int:
        return zlib.crc32(self.title.encode()) % 100_000


@dataclass(frozen=True)
class Check:
    """All cases of one student function, run in one sandboxed process."""

    function: str
    module: str
    task: str  # "4.1"
    cases: tuple[Case, ...]

    @property
    def points(self) -> float:
        return sum(case.points for case in self.cases)


class Context:
    """What a running case may do: draw inputs, call the student's code, time a call."""

    def __init__(self, student: Student, module: str, case: Case, timeout: float):
        self.student = student
        self.module = module
        self.case = case
        self.timeout = timeout
        self.rng = np.random.default_rng(case.seed)

    def call(self, name: str, *args: Any, select: list[tuple[int | str, ...]] | None = None,
             keep: str | None = None, names: dict[str, np.ndarray] | None = None,
             kwargs: dict[str, Any] | None = None, on: str | None = None, module: str | None = None,
             echo: bool = True) -> Answer:
        return self.student.call(module or self.module, name, list(args), kwargs=kwargs, keep=keep,
                                 select=select, names=names, timeout=self.timeout, on=on, echo=echo)

    def setitem(self, ref: str, attr: str, key: str, value: Any) -> None:
        self.student.setitem(ref, attr, key, value, self.timeout)


# ---------------------------------------------------------------- inputs


def traceable(shape: tuple[int, ...], scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Entries you can trace by hand: the last two axes count ``10*i + j``, earlier axes add 100s."""
    grid = np.zeros(shape)
    for axis, size in enumerate(shape):
        step = 10.0 ** (len(shape) - 1 - axis)
        view = [1] * len(shape)
        view[axis] = size
        grid = grid + np.arange(size).reshape(view) * step
    return grid * scale + offset


def distinct(rng: np.random.Generator, shape: tuple[int, ...], gap: float = 0.05) -> np.ndarray:
    """Values pairwise at least ``gap`` apart and at least ``gap/2`` from zero, in random order.

    No two entries of a pooling window tie and no entry sits near relu's kink, so
    centred differences with a step far below ``gap`` see a linear function.
    """
    count = int(np.prod(shape))
    values = (np.arange(count) - count // 2 + 0.5) * gap
    return rng.permutation(values).reshape(shape)
