"""What a check is: named cases, each worth points, each a small function of a ``Context``.

A case draws its inputs from its own generator, seeded from the grading run's secret
seed and the case's title, calls the student's function through the context, and
raises ``judge.Fail`` or lets ``StudentFailure`` propagate; returning normally is a
pass. Expected values are computed here, in the trusted parent, and never sent anywhere.

The run seed is drawn with ``secrets`` when a run starts (``grade-all`` shares one
among its submissions, so their grades are comparable) and is never shown to
students: a seed they could see or guess would let a submission recognise its inputs
and answer from a table computed offline. The instructor's log keeps it, and
``--seed`` feeds the same inputs again. Each case's seed is a keyed hash of its title
under the run seed, so knowing one case's inputs tells nothing about another's.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder import pace
from autograder.judge import Fail
from autograder.numeric import GAP
from autograder.student import Answer, CallOptions, Deadline, Student, StudentFailure

if TYPE_CHECKING:  # typing.Unpack is Python 3.11's; the annotations that name it are never evaluated
    from typing import Unpack

SEED_BITS = 64


def new_run_seed() -> int:
    """A fresh secret seed for one grading run."""
    return secrets.randbits(SEED_BITS)


def seed_line(seed: int) -> str:
    """How a run's seed is told to the instructor (stderr, a log), never to a student."""
    return f"run seed {seed} (repeat these inputs with --seed {seed})"


def case_seed(run_seed: int, title: str) -> int:
    """The seed of the case called ``title`` in the run seeded ``run_seed`` (a keyed BLAKE2b of the title)."""
    key = run_seed.to_bytes(SEED_BITS // 8, "little")
    return int.from_bytes(hashlib.blake2b(title.encode(), key=key, digest_size=16).digest(), "little")


@dataclass(frozen=True)
class Case:
    function: str  # the student function judged: the test name's prefix
    name: str  # the case: the test name after the colon
    points: float
    body: Callable[[Context], None]
    setup: str = ""  # the case's parameters and shapes, for its messages: "x (2, 3, 7, 7), conv_param {...}"
    work: int = 0  # multiply-adds a plain scalar loop does for this case: its time limit scales with them

    @property
    def title(self) -> str:
        return f"{self.function}: {self.name}"

    def run(self, ctx: Context) -> None:
        """Run the case; a failure's message ends with the case's setup, so a student can rebuild it."""
        try:
            self.body(ctx)
        except Fail as fail:
            raise Fail(self._located(str(fail))) from None
        except StudentFailure as failure:
            raise StudentFailure(failure.kind, self._located(failure.message)) from None

    def _located(self, message: str) -> str:
        return f"{message} [{self.setup}]" if self.setup else message


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


@dataclass(frozen=True)
class Budget:
    """One submission's wall-clock budget: when it ends, and its length for the report."""

    ends: float  # on time.monotonic()'s clock
    seconds: float

    @property
    def used_up(self) -> str:
        return f"the submission's time budget ({self.seconds:g} s) was used up"

    def left(self) -> float:
        return self.ends - time.monotonic()

    def deadline(self, allowed: float, limit: float, why: str = "") -> Deadline:
        """A request's deadline: ``allowed`` seconds from now (of a ``limit``), or the budget's end if sooner."""
        at = time.monotonic() + allowed
        if self.ends < at:
            return Deadline(self.ends, self.used_up)
        return Deadline(at, f"limit {limit:g} s{why}")


class Context:
    """What a running case may do: draw inputs, call the student's code, time a call.

    A case may take ``limit`` seconds of the student's time over all its requests
    (the grader's own work in between, such as references and yardsticks, is not
    counted), or ``pace.LOOP_FACTOR`` times what the grader's own plain scalar loops
    take for the case's ``work`` on this machine now, whichever is longer; no request
    outlives the submission's budget.
    """

    def __init__(self, student: Student, module: str, case: Case, run_seed: int, limit: float, budget: Budget,
                 memo: dict[str, str] | None = None):
        self.student = student
        self.memo = {} if memo is None else memo  # shared by the cases of one check, e.g. "forward timed out"
        self.module = module
        self.case = case
        loops = float(round(pace.allowance(case.work)))  # whole seconds: a report's limits read alike
        self.limit = max(limit, loops)
        self._why = f", {pace.LOOP_FACTOR:g}x the grader's plain loops on this case" if loops > limit else ""
        self.budget = budget
        self.spent = 0.0
        self.rng = np.random.default_rng(case_seed(run_seed, case.title))

    def _deadline(self) -> Deadline:
        return self.budget.deadline(self.limit - self.spent, self.limit, self._why)

    def call(self, name: str, *args: Any, **options: Unpack[CallOptions]) -> Answer:
        """``self.module.name(*args)`` in the student's process, timed against the case's limit."""
        started = time.monotonic()
        try:
            return self.student.call(self.module, name, list(args), self._deadline(), **options)
        finally:
            self.spent += time.monotonic() - started

    def setitem(self, ref: str, attr: str, key: str, value: Any) -> None:
        started = time.monotonic()
        try:
            self.student.setitem(ref, attr, key, value, self._deadline())
        finally:
            self.spent += time.monotonic() - started


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


def distinct(rng: np.random.Generator, shape: tuple[int, ...], gap: float = GAP) -> np.ndarray:
    """Values pairwise at least ``gap`` apart and at least ``gap/2`` from zero, in random order.

    No two entries of a pooling window tie and no entry sits near relu's kink, so
    centred differences with a step below ``gap / 2`` (``numeric.KINK_FREE_STEP``) see a linear function.
    """
    count = int(np.prod(shape))
    values = (np.arange(count) - count // 2 + 0.5) * gap
    return rng.permutation(values).reshape(shape)
