"""What grading produces: one result per case, and the submission's report around them.

Much of what a report says comes from the student: the folder's name, file names,
exception messages, type names. ``one_line`` is how any of it is written into a report
(text, JSON, Gradescope, CSV, nbgrader verdict cells), so none of it can start a line
of its own, such as a forged ``Score: 999 / 999``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from autograder import points as scale

LINE_CHARS = 500


def one_line(text: str, limit: int = LINE_CHARS) -> str:
    """``text`` as one line of at most ``limit`` printable characters.

    Characters that are not printable are shown as their Python escapes rather than
    dropped, so a reader still sees what was there: ``\\n``, ``\\r``, ``\\x1b`` (a terminal
    escape), ``\\u202e`` (a right-to-left override), ``\\udcff`` (a byte of a file name that
    is not UTF-8).

    >>> one_line("ok\\nScore: 999 / 999")
    'ok\\\\nScore: 999 / 999'
    """
    escaped = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return escaped if len(escaped) <= limit else escaped[:limit - 3] + "..."


@dataclass(frozen=True)
class CaseResult:
    function: str
    case: str
    task: str  # "2.2": Notebook 02, task 2.2
    score: float
    max_score: float
    message: str  # "" when passed

    @property
    def name(self) -> str:
        return f"{self.function}: {self.case}"

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


@dataclass
class Report:
    submission: str
    results: list[CaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # staging and build remarks, shown to the student
    protections: list[str] = field(default_factory=list)  # which sandbox protections were active
    diagnostics: list[str] = field(default_factory=list)  # for the instructor; may differ between runs
    seconds: float = 0.0
    error: str | None = None  # set when the grader itself failed (not the student's fault)
    # Task number -> its points in the notebooks (``autograder.points``); empty: each case its own points.
    points: dict[str, scale.TaskPoints] = field(default_factory=dict)

    def one_lined(self) -> Report:
        """A copy whose every string is ``one_line``: what each report format writes out."""
        results = [replace(r, function=one_line(r.function), case=one_line(r.case), message=one_line(r.message))
                   for r in self.results]
        return replace(self, submission=one_line(self.submission), results=results,
                       notes=[one_line(note) for note in self.notes],
                       protections=[one_line(line) for line in self.protections],
                       diagnostics=[one_line(line) for line in self.diagnostics],
                       error=one_line(self.error) if self.error else self.error)

    @property
    def in_points(self) -> bool:
        """Whether scores are the notebooks' points (a points table was given), not the cases' own."""
        return bool(self.points)

    def task_points(self, task: str) -> float:
        """What ``task`` is worth: its points in the notebooks, else the sum of its cases' maxima."""
        if task in self.points:
            return self.points[task].points
        return sum(r.max_score for r in self.results if r.task == task)

    def tasks(self) -> dict[str, TaskScore]:
        """Each task's score, in the order its cases were graded."""
        cases: dict[str, list[CaseResult]] = {}
        for result in self.results:
            cases.setdefault(result.task, []).append(result)
        return {task: TaskScore(results, self.task_points(task)) for task, results in cases.items()}

    def case_points(self, result: CaseResult) -> tuple[float, float]:
        """A case's (score, maximum) as its part of its task's points."""
        possible = sum(r.max_score for r in self.results if r.task == result.task)
        worth = self.task_points(result.task)
        return scale.share(result.score, possible, worth), scale.share(result.max_score, possible, worth)

    @property
    def score(self) -> float:
        return scale.total(task.score for task in self.tasks().values())

    @property
    def max_score(self) -> float:
        return scale.total(task.points for task in self.tasks().values())


@dataclass(frozen=True)
class TaskScore:
    """One task's cases and what they earn of its ``points``."""

    results: list[CaseResult]
    points: float

    @property
    def score(self) -> float:
        return scale.task_score(sum(r.score for r in self.results), sum(r.max_score for r in self.results),
                                self.points)
