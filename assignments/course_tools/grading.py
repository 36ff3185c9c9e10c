"""Grade every submission in a course folder through nbgrader, then write feedback and CSVs.

    python -m course_tools.grading [--course DIR] [--execute] [--force] [--workers N]

Steps, in order (``make grade`` runs them on ``assignments/``):

1. survey ``submitted/<student>/cnn/`` and list what will not be graded: a student folder that is a
   symbolic link is refused, and links, special files and files with more than one hard link inside
   are never graded. Nothing under ``submitted/`` is changed; the protection itself is
   ``course_tools.nofollow_copy.RefuseLinks``, in nbgrader's own pipeline, so that plain
   ``nbgrader autograde`` and formgrader are just as safe;
2. plan (``course_tools.regrade``): only submissions that are new or changed, or graded by another
   version of the grader or in the other mode, are autograded again (all of them with ``--force``);
   an unchanged one whose grades changed in the gradebook since (written answers graded by a
   person) gets fresh feedback only;
3. for each, ``nbgrader autograde cnn --student S --force`` then ``nbgrader generate_feedback cnn
   --student S --force``, as nbgrader's own converters in a few long-lived worker processes
   (``course_tools.grade_worker``): every grade cell gets the sandboxed autograder's verdict, and
   the notebooks keep the outputs the student submitted, or with ``--execute`` are re-run in
   sandboxed kernels (see ``nbgrader_config.py``); the scores are the same either way. A line per
   student says when each is done (``[3/40] alice: autograded in 21 s, feedback 2 s``);
4. ``exports/grades.csv`` (``nbgrader export``, through the course's ``course_tools.scores.GradesCsv``),
   ``exports/tests.csv`` (one row per student and autograder test) and ``exports/notebooks.csv`` (one
   row per student and notebook), all in nbgrader's points: autograded, manual (with the points still
   pending) and total apart (``course_tools.scores``);
5. a table of scores per student and notebook on stdout; ``logs/timings.json`` says where the
   time went.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import multiprocessing
import os
import sqlite3
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from autograder.cases import new_run_seed
from nbgrader.api import Gradebook, MissingEntry

from course_tools import grade_worker, regrade, scores
from course_tools.nofollow_copy import Survey, survey
from course_tools.release import ASSIGNMENT, COURSE, ReleaseError, nbgrader
from course_tools.scores import Score
from course_tools.verdicts import results_folder


@dataclass(frozen=True)
class NotebookScore:
    student: str
    notebook: str
    score: Score


def survey_submissions(course: Path, who: list[str], assignment: str = ASSIGNMENT) -> dict[str, Survey]:
    """What of each student's submission ``RefuseLinks`` will keep out of grading; reads names only."""
    submitted = course / "submitted"
    return {student: survey(submitted, submitted / student / assignment) for student in who}


def students(course: Path, assignment: str = ASSIGNMENT) -> list[str]:
    """Every student with a ``submitted/<student>/<assignment>`` entry (a link too: it is refused later)."""
    submitted = course / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(name for name in os.listdir(submitted) if os.path.lexists(submitted / name / assignment))


def notebook_scores(course: Path, assignment: str = ASSIGNMENT) -> list[NotebookScore]:
    """Every student's every notebook's ``Score`` (``course_tools.scores``), from the gradebook."""
    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students(course, assignment):
            for notebook, score in scores.notebook_scores(gradebook, assignment, student).items():
                rows.append(NotebookScore(student, notebook, score))
    return rows


def cell_grades(course: Path, assignment: str = ASSIGNMENT) -> dict[tuple[str, str, str], tuple]:
    """(student, notebook, grade cell) -> (autograded score, manual score), from the gradebook."""
    grades = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students(course, assignment):
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grades[(student, notebook.name, grade.name)] = (grade.auto_score, grade.manual_score)
    return grades


def write_exports(course: Path, assignment: str = ASSIGNMENT) -> dict[str, Path]:
    """grades.csv (nbgrader's), tests.csv and notebooks.csv in ``course/exports``."""
    exports = course / "exports"
    exports.mkdir(exist_ok=True)
    nbgrader(course, "export", "--to", str(exports / "grades.csv"))
    with open(exports / "tests.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "test", "task", "score", "max_score", "status"])
        for path in sorted((results_folder(f"sqlite:///{course / 'gradebook.db'}") / assignment).glob("*.json")):
            for test in json.loads(path.read_text())["tests"]:
                extra = test.get("extra_data") or {}
                writer.writerow([path.stem, test.get("name"), extra.get("task", test.get("number", "")),
                                 test.get("score"), test.get("max_score"), test.get("status")])
    with open(exports / "notebooks.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "notebook", "autograded", "autograded_max", "manual", "manual_max",
                         "manual_pending", "manual_state", "total", "max_score"])
        for row in notebook_scores(course, assignment):
            score = row.score
            writer.writerow([row.student, row.notebook, score.autograded, score.autograded_max, score.manual,
                             score.manual_max, score.pending, scores.manual_state(score), score.total,
                             score.max_score])
    return {name: exports / f"{name}.csv" for name in ("grades", "tests", "notebooks")}


def table(rows: list[NotebookScore]) -> str:
    """Students down, notebooks across (autograded points / maximum), then each student's autograded,
    manual (written answers graded so far), still pending and total points, as in grades.csv."""
    notebooks = sorted({row.notebook for row in rows})
    by_student: dict[str, dict[str, Score]] = {}
    for row in rows:
        by_student.setdefault(row.student, {})[row.notebook] = row.score
    width = max([len("student")] + [len(s) for s in by_student])
    header = (f"{'student':<{width}}  " + "  ".join(f"{nb[:13]:>13}" for nb in notebooks)
              + f"  {'autograded':>12}  {'manual':>11}  {'pending':>7}  {'total':>13}")
    lines = [header, "-" * len(header)]
    for student, cells in sorted(by_student.items()):
        parts, whole = [], Score()
        for nb in notebooks:
            score = cells.get(nb)
            if score is None:
                parts.append(f"{'-':>13}")
                continue
            parts.append(f"{score.autograded:>7.2f}/{score.autograded_max:<5g}")
            whole += score
        lines.append(f"{student:<{width}}  " + "  ".join(parts)
                     + f"  {whole.autograded:>6.2f}/{whole.autograded_max:<5g}"
                     + f"  {whole.manual:>5.2f}/{whole.manual_max:<5g}"
                     + f"  {whole.pending:>7g}  {whole.total:>6.2f}/{whole.max_score:<6g}")
    return "\n".join(lines)


def use_wal(gradebook: Path) -> None:
    """Write-ahead logging: readers never block the writer, so graders can share the sqlite file."""
    with sqlite3.connect(gradebook) as db:
        db.execute("PRAGMA journal_mode=WAL")


@dataclass
class Task:
    """What one student needs this run: autograding (and then feedback), or fresh feedback only."""

    student: str
    autograde: bool
    key: str  # digest of the submission and the grader (course_tools.regrade)


def plan(course: Path, who: list[str], assignment: str, execute: bool, force: bool) -> tuple[list[Task], list[str]]:
    """The students to grade or give fresh feedback, and those left as they are (``course_tools.regrade``)."""
    version = regrade.grader_version(course, assignment, execute)
    record = {} if force else regrade.load_record(course, assignment)
    tasks, unchanged = [], []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in who:
            digest = regrade.submission_digest(course / "submitted" / student / assignment)
            key = hashlib.sha256(f"{digest} {version}".encode()).hexdigest()
            last = record.get(student, {})
            state = regrade.gradebook_state(gradebook, assignment, student)
            graded = (digest is not None and last.get("key") == key and state is not None
                      and (course / "autograded" / student / assignment).is_dir())
            if not graded:
                tasks.append(Task(student, True, key))
            elif last.get("feedback") != state or not (course / "feedback" / student / assignment).is_dir():
                tasks.append(Task(student, False, key))
            else:
                unchanged.append(student)
    return tasks, unchanged


def autograde_all(course: Path, tasks: list[Task], assignment: str, workers: int, logs: Path,
                  execute: bool = False, log=print) -> tuple[list[str], dict[str, dict]]:
    """Autograde and write feedback for each task, ``workers`` students at a time, passing ``log`` a line
    as each student is done; return the failures and each student's timings.

    Each worker is a long-lived process running nbgrader's own converters (``course_tools.grade_worker``),
    so nbgrader's start-up is paid once per worker, not twice per student. All workers judge on one
    secret seed drawn for this run (unless the course config fixes ``RunAutograder.seed``), so every
    student is judged on the same inputs and each worker's autograder computes their expected values once.
    A worker runs the autograder on a submission (a sandboxed process), then its notebooks' kernels if
    re-running, then writes the student's feedback, so two workers keep two cores busy. They share the
    gradebook (in WAL mode; nbgrader writes a student's rows in short transactions) and the autograder's
    cache of compiled extensions (identical .pyx files are compiled once). The record of what was graded
    (``course_tools.regrade``) is written after each student, so an interrupted run resumes.
    """
    use_wal(course / "gradebook.db")
    record = regrade.load_record(course, assignment)
    timings: dict[str, dict] = {}
    failures: list[str] = []
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no state of this one
    # A worker is replaced after this many students, which bounds what nbgrader's objects leak.
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context, max_tasks_per_child=50,
                             initializer=grade_worker.start,
                             initargs=(str(course), execute, str(logs / "workers.log"), new_run_seed())) as pool:
        running = {pool.submit(grade_worker.grade_one, task.student, assignment, task.autograde): task
                   for task in tasks}
        for done, future in enumerate(as_completed(running), 1):
            task = running[future]
            student_log = logs / f"autograde-{task.student}.log"
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - one student's trouble must not stop the others
                result = {"ok": False, "log": f"{type(error).__name__}: {error}\n"}
            student_log.write_text(result["log"])
            timings[task.student] = {name: result.get(name, 0.0) for name in ("autograde_seconds", "feedback_seconds")}
            log(f"[{done}/{len(tasks)}] {progress_line(task, result)}")
            if not result["ok"]:
                failures.append(f"{task.student}: nbgrader failed, see {student_log}")
                record.pop(task.student, None)
                continue
            # A fresh connection each time: one kept open would read a snapshot from before this student.
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
                state = regrade.gradebook_state(gradebook, assignment, task.student)
            record[task.student] = {"key": task.key, "feedback": state}
            regrade.save_record(course, assignment, record)
    done = [task.student for task in tasks]
    (logs / "autograde.log").write_text("\n".join(
        (logs / f"autograde-{student}.log").read_text() for student in done
        if (logs / f"autograde-{student}.log").is_file()))
    return failures, timings


def progress_line(task: Task, result: dict) -> str:
    """What one student's grading did, for the progress lines of ``make grade`` and ``make demo``."""
    if not result["ok"]:
        return f"{task.student}: FAILED (logs/autograde-{task.student}.log says why)"
    feedback = f"feedback {result.get('feedback_seconds', 0.0):.0f} s"
    if not task.autograde:
        return f"{task.student}: grades changed in the gradebook, {feedback}"
    return f"{task.student}: autograded in {result.get('autograde_seconds', 0.0):.0f} s, {feedback}"


def grade(course: Path = COURSE, assignment: str = ASSIGNMENT, log=print, workers: int | None = None,
          execute: bool = False, force: bool = False) -> dict:
    """Autograde, feedback and exports for every new or changed submission; return a summary.

    ``execute`` re-runs every notebook in a sandboxed kernel (fresh outputs in feedback); by default
    the submitted outputs are kept (``course_tools.kernel.GradingMode``). Scores are the autograder's
    either way. ``force`` regrades every submission, changed or not.
    """
    course = Path(course).resolve()
    if not (course / "gradebook.db").exists():
        raise ReleaseError(f"{course} has no gradebook: make the release first (make release)")
    who = students(course, assignment)
    if not who:
        raise ReleaseError(f"nothing to grade: {course / 'submitted'} has no <student>/{assignment}/ folder")
    started = time.perf_counter()
    surveys = survey_submissions(course, who, assignment)
    refused = [f"{student}: {found.problem}" for student, found in surveys.items() if found.problem]
    for student, found in surveys.items():
        for line in found.lines():
            log(f"not graded in {student}'s submission (submitted/ is left as it is): {line}")
    for line in refused:
        log(f"refused: {line}")
    logs = course / "logs"
    logs.mkdir(exist_ok=True)
    graded = [student for student in who if surveys[student].problem is None]
    tasks, unchanged = plan(course, graded, assignment, execute, force)
    if unchanged:
        log(f"unchanged since they were graded (--force regrades them): {len(unchanged)} submission(s)")
    plan_seconds = time.perf_counter() - started
    start = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    if tasks:
        log(f"grading {len(tasks)} submission(s), {min(workers, len(tasks))} at a time...")
    failures, timings = autograde_all(course, tasks, assignment, workers, logs, execute, log)
    failures = refused + failures
    autograde_seconds = time.perf_counter() - start
    start = time.perf_counter()
    exports = write_exports(course, assignment)
    export_seconds = time.perf_counter() - start
    rows = notebook_scores(course, assignment)
    seconds = {"plan": plan_seconds, "autograde_and_feedback": autograde_seconds, "export": export_seconds,
               "students": timings}
    (logs / "timings.json").write_text(json.dumps(seconds, indent=1))
    return {"students": who, "rows": rows, "exports": exports, "feedback": course / "feedback",
            "autograde_seconds": autograde_seconds, "failures": failures,
            "autograded": [task.student for task in tasks if task.autograde],
            "feedback_only": [task.student for task in tasks if not task.autograde],
            "unchanged": unchanged, "seconds": seconds,
            "not_graded": {student: found.lines() for student, found in surveys.items() if found.refused},
            "log": logs / "autograde.log"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=COURSE, help="the nbgrader course folder")
    parser.add_argument("--workers", type=int, default=None, help="students graded at once (default: CPUs)")
    parser.add_argument("--execute", action="store_true",
                        help="re-run every notebook in a sandboxed kernel, for fresh outputs in feedback "
                             "(slower; scores are the same)")
    parser.add_argument("--force", action="store_true", help="regrade every submission, changed or not")
    args = parser.parse_args(argv)
    try:
        summary = grade(args.course, workers=args.workers, execute=args.execute, force=args.force)
    except ReleaseError as error:
        print(f"grading failed: {error}", file=sys.stderr)
        return 1
    print(table(summary["rows"]))
    print(f"\nautograded {len(summary['autograded'])} submission(s) and refreshed the feedback of "
          f"{len(summary['feedback_only'])} in {summary['autograde_seconds']:.0f} s; "
          f"{len(summary['unchanged'])} unchanged")
    print(f"feedback:  {summary['feedback']}/<student>/{ASSIGNMENT}/*.html")
    for name, path in summary["exports"].items():
        print(f"{name + '.csv':14s} {path}")
    print(f"nbgrader log: {summary['log']}")
    for failure in summary["failures"]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
