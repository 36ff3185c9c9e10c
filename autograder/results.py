"""What grading produces: one result per case, and the submission's report around them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CaseResult:
    function: str
    case: str
    task: str  # "2.2": Notebook 02, task 2.2
    score: float
    max_score: float
    message: str  # "" when passed
    seed: int | None  # the inputs' seed, for random cases

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

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)
