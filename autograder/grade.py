"""Grade one submission: the pipeline, its state, and the loop that runs the checks.

Every step is listed in ``PIPELINE``, in order; each reads and extends one ``Grading``.
A student's mistakes end up as failed cases with reasons; only the grader's own
faults (a sandbox that cannot be set up, a bug here) end up in ``Report.error``.

A submission has one wall-clock budget (``budget_seconds``), build included, so a
submission that loops in every function still finishes in a few minutes: checks it
leaves no time for are reported as not run. A function that times out once has its
remaining cases reported as not run too, so a runaway function costs one time-out
and the others keep their points.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder import catalog
from autograder.build import BuildResult, build_extension, default_cache_dir
from autograder.cases import Budget, Case, Check, Context, new_run_seed
from autograder.child import SandboxFailure
from autograder.judge import Fail, could_not_judge
from autograder.limits import Limits
from autograder.results import CaseResult, Report
from autograder.sandbox import Sandbox, default_identity
from autograder.student import Student, StudentFailure
from autograder.submission import PACKAGE, Staged, stage
from cs_conv.tasks import TASKS

EXTENSION_MODULE = "cs_conv.im2col_cython"
PYX = "im2col_cython.pyx"
# Modules none of whose tasks runs the compiled extension (``cs_conv.tasks``): grading only these skips the build.
WITHOUT_EXTENSION = (frozenset(task.module for task in TASKS.values())
                     - frozenset(task.module for task in TASKS.values() if task.compiled))


@dataclass
class Settings:
    limits: Limits = field(default_factory=Limits)
    cache_dir: Path = field(default_factory=default_cache_dir)
    only: list[str] | None = None  # fnmatch patterns of functions to grade; None: all
    uid: int | None = None  # user the sandboxes run as when the grader is root; None: a free one
    namespaces: bool | None = None  # None: use them where they work
    insecure: bool = False  # grade even where student code cannot be isolated (the report says so)
    work_dir: Path | None = None  # where private temporary folders go
    seed: int = field(default_factory=new_run_seed)  # the run's secret seed: never in a report


@dataclass
class Grading:
    submission: Path
    settings: Settings
    checks: tuple[Check, ...]
    sandbox: Sandbox
    scratch: Path
    report: Report
    budget: Budget
    staged: Staged | None = None
    broken: dict[str, str] = field(default_factory=dict)  # module -> why none of its checks can run
    build: BuildResult | None = None
    diagnostics: list[str] = field(default_factory=list)  # for the instructor; may differ between runs


def stage_step(g: Grading) -> None:
    """Copy the submission's own cs_conv sources (nothing compiled) into a private folder."""
    root = g.scratch / "submission"
    root.mkdir(mode=0o755)
    g.staged = stage(g.submission, root)
    g.report.notes += g.staged.notes
    if not g.staged.problem:
        g.diagnostics.append(f"submission: {len(g.staged.files)} source files, sha256 {g.staged.digest[:16]}")


def build_step(g: Grading) -> None:
    """Compile im2col_cython.pyx in the sandbox (or take it from the cache) into the staged package."""
    assert g.staged is not None
    if g.staged.problem:
        return
    if all(c.module in WITHOUT_EXTENSION for c in g.checks):
        return  # nothing selected needs the extension
    if PYX not in g.staged.cython:
        g.broken[EXTENSION_MODULE] = f"cs_conv/{PYX} is missing from the submission"
        return
    build_scratch = g.scratch / "build-scratch"
    build_scratch.mkdir(mode=0o755)
    limits = g.settings.limits
    within_budget = dataclasses.replace(limits, build_seconds=max(0.0, min(limits.build_seconds, g.budget.left())))
    result = build_extension(g.staged.cython, g.settings.cache_dir, g.sandbox, within_budget, build_scratch)
    g.build = result
    g.diagnostics.append(f"build: {'cache hit' if result.cached else 'compiled'} in {result.seconds:.1f} s")
    if result.ok and result.library is not None:
        result.install(g.staged.root / PACKAGE)
    else:
        g.broken[EXTENSION_MODULE] = f"cs_conv/{PYX} did not compile: {result.message}"
        g.report.notes.append(g.broken[EXTENSION_MODULE])


def run_step(g: Grading) -> None:
    """Run every selected check in its own fresh process, forked in the submission's sandbox.

    First the sources are compiled to bytecode once (``Student.precompile``), so no check pays for that.
    """
    assert g.staged is not None
    limits = g.settings.limits
    student = Student(g.sandbox, g.staged.root, g.scratch / "run", limits)
    try:
        if not g.staged.problem and g.budget.left() > 0:
            sources = [f"{PACKAGE}/{name}" for name in g.staged.files if name.endswith(".py")]
            compiled = student.precompile(sources, g.budget.deadline(limits.import_seconds, limits.import_seconds))
            g.diagnostics.append(f"bytecode: {compiled} of {len(sources)} sources compiled before the checks")
        for check in g.checks:
            if g.staged.problem:
                _fail_all(g, check, g.staged.problem)
            elif check.module in g.broken:
                _fail_all(g, check, g.broken[check.module])
            elif g.budget.left() <= 0:
                _fail_all(g, check, _not_run(g))
            else:
                _run_check(g, check, student)
    finally:
        student.close()


PIPELINE: list[tuple[str, Callable[[Grading], None]]] = [
    ("stage", stage_step),  # first: later steps see only the staged copy, never the submission folder
    ("build", build_step),  # before run: the extension must be in the staged package when it is imported
    ("run", run_step),
]


def budget_seconds(limits: Limits, checks: tuple[Check, ...]) -> float:
    """The wall-clock budget for grading ``checks``: ``limits.submission_seconds`` for them all.

    A selection keeps the setup part whole (the sandbox's start and the build do not
    shrink with it) and gets its share of the rest by number of cases; whole seconds,
    so the reports read the same on every run.
    """
    setup = min(limits.setup_seconds, limits.submission_seconds)
    share = sum(len(c.cases) for c in checks) / sum(len(c.cases) for c in catalog.CATALOG)
    return float(round(setup + (limits.submission_seconds - setup) * share))


def grade(submission: Path, settings: Settings | None = None, sandbox: Sandbox | None = None) -> Report:
    """Grade the submission folder ``submission`` (it holds ``cs_conv/``)."""
    settings = settings or Settings()
    started = time.perf_counter()
    report = Report(submission=submission.name)
    checks = catalog.select(settings.only)
    if sandbox is None:
        sandbox = Sandbox(settings.limits, default_identity(settings.uid), settings.namespaces, settings.insecure)
    report.protections = sandbox.protections.summary(settings.limits)
    if sandbox.unusable:
        report.error = sandbox.unusable
        report.seconds = time.perf_counter() - started
        return report
    scratch = Path(tempfile.mkdtemp(prefix="csg-", dir=settings.work_dir))
    os.chmod(scratch, 0o755)  # the sandbox user reads the staged copy through it when not namespaced
    seconds = budget_seconds(settings.limits, checks)
    g = Grading(submission, settings, checks, sandbox, scratch, report, Budget(time.monotonic() + seconds, seconds))
    try:
        for _, step in PIPELINE:
            step(g)
    except SandboxFailure as failure:
        report.error = f"the sandbox could not be set up: {failure}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report.diagnostics = g.diagnostics
    report.seconds = time.perf_counter() - started
    return report


def _fail_all(g: Grading, check: Check, reason: str) -> None:
    for case in check.cases:
        _record(g, check, case, reason)


def _not_run(g: Grading) -> str:
    return f"not run: {g.budget.used_up}"


def _record(g: Grading, check: Check, case: Case, message: str) -> None:
    g.report.results.append(CaseResult(check.function, case.name, check.task, 0.0 if message else case.points,
                                       case.points, message))


def _run_check(g: Grading, check: Check, student: Student) -> None:
    limits = g.settings.limits
    student.start_check()
    try:
        try:
            student.import_module(check.module, g.budget.deadline(limits.import_seconds, limits.import_seconds))
        except StudentFailure as failure:
            if g.budget.left() <= 0:  # cut short by the budget: not the module's fault
                _fail_all(g, check, _not_run(g))
                return
            reason = failure.message
            if "im2col_cython" in reason and EXTENSION_MODULE in g.broken:
                reason += f"; {g.broken[EXTENSION_MODULE]}"
            g.broken[check.module] = reason
            _fail_all(g, check, reason)
            return
        timeouts = 0
        memo: dict[str, str] = {}  # what one case learnt that the check's later cases need
        for case in check.cases:
            if g.budget.left() <= 0:
                _record(g, check, case, _not_run(g))
                continue
            if timeouts >= limits.timeouts_per_function:
                _record(g, check, case, f"not run: {check.function} timed out in an earlier case")
                continue
            message = ""
            try:
                case.run(Context(student, check.module, case, g.settings.seed, limits.case_seconds, g.budget, memo))
            except Fail as fail:
                message = str(fail)
            except StudentFailure as failure:
                message = failure.message
                timeouts += failure.kind == "timeout"
            except Exception as error:  # the one guard: whatever judging a case raised fails that case alone
                message = could_not_judge(error)
                g.diagnostics.append(f"{case.title}: judging raised {error!r}")
                student.discard()  # the next case gets a fresh process, not one whose reply broke the judge
            _record(g, check, case, message)
    finally:
        student.end_check()
