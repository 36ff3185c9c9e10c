"""nbgrader preprocessors that grade with the sandboxed autograder instead of the student's kernel.

A grade cell in this course holds no test, only a comment naming a student function
(``course_tools.cells.autograded``). Two steps in ``Autograde.autograde_preprocessors``
(see ``nbgrader_config.py``) turn it into a score:

``RunAutograder`` (before ``Execute``)
    grades the submission's folder as nbgrader copied it, before any of its notebooks' kernels
    has run, once per submission and version of the grader (``verdict_key``), and keeps the
    results (in memory, and as JSON in ``results_dir`` for the exports, written once per verdict
    and student: ``write_results``). The grading is done by a long-lived
    ``python -m autograder serve`` (``course_tools.autograder_service``). Under
    ``make grade`` every student of a run is judged on one secret seed (its workers share it), so
    the grader's expected values for those inputs are computed once per worker; elsewhere
    (``nbgrader autograde``, formgrader) each submission gets a fresh secret seed of its own.
``ApplyVerdicts`` (after ``Execute`` and ``LimitOutput``, before ``SaveAutoGrades``)
    replaces each grade cell's outputs with the verdict: the messages of the tests named after
    its function (``cases_for``), then the points as a number, which ``SaveAutoGrades``
    reads as partial credit (``nbgrader.utils.determine_grade``). Whatever the kernel printed
    in a grade cell, errors and stderr included, is discarded. Cells whose nbgrader metadata
    does not match the gradebook (a student's forged grade cell) lose that metadata.

The autograder is given the gradebook's points for every grade cell (``--points``, the table
``points_table`` reads), so its report is in the notebooks' points and a grade cell scores what
the report gives its function's task (``autograder.points``: ``points * sum(score) / sum(max_score)``
over the function's cases, rounded to 2 places).

Two steps in ``Autograde.sanitize_preprocessors`` run first, so that nothing a student does to
nbgrader metadata is trusted or fails their autograde: ``StripForgedCells`` gives every cell
of the source notebook back the metadata the source gave it, and ``RestoreMissingCells``
puts back grade cells that are gone.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.cases import new_run_seed, seed_line
from autograder.results import one_line
from cs_conv.tasks import TASKS
from nbformat import v4
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader import utils
from nbgrader.api import Assignment, Gradebook, GradeCell, MissingEntry, Notebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, List, Unicode

from course_tools import autograder_service
from course_tools.autograder_service import AutograderError
from course_tools.cells import SCHEMA_VERSION, function_for
from course_tools.paths import REPO

# The autograder's own source and the task table it imports, under ``REPO``: what its verdicts
# depend on besides the submission.
GRADER_SOURCES = ("autograder/**/*.py", "cs_conv/tasks.py")
# One autograder run per distinct submission and grader per grading process, which may be a
# formgrader server running for weeks (key: ``verdict_key``).
_RESULTS: dict[str, dict] = {}
# Each results.json this process wrote: the verdict's key, and the file's size and modification time
# just after (``write_results``).
_WRITTEN: dict[Path, tuple[str, int, int]] = {}


def submission_digest(folder: Path) -> str:
    """A digest of every regular file under ``folder`` except notebooks and checkpoints.

    Names go in as the file system's bytes (``os.fsencode``), since a name need not be UTF-8;
    a file that cannot be read counts by its name alone, and the autograder says why it is missing.
    """
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb" or ".ipynb_checkpoints" in relative.parts:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        digest.update(os.fsencode(relative) + b"\0" + data + b"\0")
    return digest.hexdigest()


def source_digest(base: Path, patterns: tuple[str, ...], skip: tuple[str, ...] = ()) -> str:
    """A digest of the files under ``base`` that match ``patterns`` (names and contents), leaving out
    ``__pycache__`` and paths that start with an entry of ``skip``."""
    digest = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(base.glob(pattern)):
            relative = path.relative_to(base).as_posix()
            if path.is_file() and "__pycache__" not in path.parts and not relative.startswith(skip):
                digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def grader_digest() -> str:
    """A digest of the grader's source, read afresh on each call, so a grader fixed while formgrader
    runs is seen at the next regrade."""
    return source_digest(REPO, GRADER_SOURCES)


def verdict_key(folder: Path, grader: str, command: list[str], seed: int, table: dict) -> str:
    """What a verdict is cached under: the submission's files, and the grader that judged them (its
    source's ``grader_digest``, the command line that runs it, the seed setting and the points ``table``)."""
    return hashlib.sha256(json.dumps([submission_digest(folder), grader, command, seed, table],
                                     sort_keys=True).encode()).hexdigest()


def points_table(db_url: str, assignment: str) -> dict[str, dict]:
    """Each autograded function's notebook, task and points, from the gradebook's grade cells: the
    autograder's ``--points`` table (the Gradescope bundle's ``points.json`` has the same form).

    Read afresh on every call (``RunAutograder`` calls it for every notebook, so an assignment
    regenerated while formgrader runs is graded in its new points from the next notebook on), in one
    query where nbgrader's ``find_assignment(...).notebooks`` and each notebook's ``grade_cells`` take
    one each. Notebooks come in nbgrader's order (by name), so of two notebooks with a grade cell for
    one function the later one's counts, as when the cells were read notebook by notebook.
    """
    table = {}
    with Gradebook(db_url) as gradebook:
        rows = (gradebook.db.query(Notebook.name, GradeCell.name, GradeCell.cell_type, GradeCell.max_score)
                .join(Notebook, Notebook.id == GradeCell.notebook_id)
                .join(Assignment, Assignment.id == Notebook.assignment_id)
                .filter(Assignment.name == assignment)
                .order_by(Notebook.name)
                .all())
    for notebook, name, cell_type, max_score in rows:
        function = function_for(name)
        if function is not None and cell_type == "code":
            table[function] = {"notebook": notebook, "task": TASKS[function].label, "points": float(max_score)}
    if not table:
        raise AutograderError(f"the gradebook {db_url} has no autograded cells for {assignment}: "
                              "generate the assignment first")
    return table


def run_autograder(folder: Path, command: list[str], timeout: int, seed: int, log: Path | None = None,
                   table: dict | None = None, grader: str | None = None) -> dict:
    """Grade ``folder`` on ``seed`` with the autograder that ``command`` runs (``command serve``) and
    return its results.json, in the points of ``table`` (``points_table``'s form) when one is given.
    ``grader`` is the source's ``grader_digest``, when the caller has just read it.

    The run's seed (which repeats it with ``--seed``) and the grader's diagnostics go to ``log``,
    for the instructor only.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("NBGRADER_EXECUTION", None)
    results = autograder_service.grade(folder, command, REPO, env, grader or grader_digest(), timeout, seed, table)
    if log is not None:
        diagnostics = (results.get("extra_data") or {}).get("diagnostics") or []
        log.write_text("\n".join([seed_line(seed), *diagnostics]) + "\n")
    return results


def cases_for(results: dict, function: str) -> list[dict]:
    """The tests that judge ``function``: those whose names, up to the colon, are the name ``cs_conv.tasks``
    says it is tested as (``conv_forward_naive: ...``; ``im2col_cython: ...`` for ``im2col_kernel``)."""
    name = TASKS[function].tested_as
    return [test for test in results.get("tests", []) if str(test.get("name", "")).split(":", 1)[0].strip() == name]


def cell_score(results: dict, function: str, max_points: float) -> float:
    """What ``function``'s grade cell scores: its task's points in the autograder's report (0 when no
    test judged it), which must be out of the cell's ``max_points``."""
    task = ((results.get("extra_data") or {}).get("tasks") or {}).get(TASKS[function].number)
    if task is None:
        return 0.0
    if float(task["max_score"]) != float(max_points):
        raise AutograderError(f"the autograder scored {function} out of {task['max_score']}, "
                              f"but its grade cell is worth {max_points}: grade it again")
    return float(task["score"])


def verdict_text(function: str, tests: list[dict], max_points: float, score: float) -> str:
    """The grade cell's output: a headline, then one line per test, failures with their message."""
    if not tests:
        return (f"Autograder: no tests judged {function}, so this cell scores 0 of {max_points:g}.\n"
                "This is a problem with the course's grader, not your code: tell your instructor.\n")
    passed = sum(1 for test in tests if float(test.get("score") or 0) >= float(test.get("max_score") or 0))
    lines = [f"Autograder verdict for {function}: {score:g} of {max_points:g} points "
             f"({passed} of {len(tests)} tests passed)."]
    for test in tests:
        ok = float(test.get("score") or 0) >= float(test.get("max_score") or 0)
        case = str(test.get("name", "")).split(":", 1)[-1].strip()
        lines.append(f"  {'passed' if ok else 'FAILED'}  {one_line(case)}")
        message = str(test.get("output") or "").strip()
        if message and not ok and test.get("visibility") != "hidden":
            lines.append("          " + one_line(message))
    return "\n".join(lines) + "\n"


def _submission_folder(resources: dict) -> Path:
    return Path(resources["metadata"]["path"]).resolve()


class RunAutograder(NbGraderPreprocessor):
    """Run the autograder on a submission once per version of the grader, before any of its notebooks
    is executed."""

    command = List(Unicode(), [sys.executable, "-m", "autograder"],
                   help="The autograder's command line, run from the repository root").tag(config=True)
    timeout = Integer(900, help="Seconds the autograder may take for one submission").tag(config=True)
    seed = Integer(-1, help="The autograder's seed for every case's inputs, to repeat a grading exactly "
                            "(comparing two gradings); -1, the default: a fresh secret seed for each "
                            "submission (make grade gives its run's workers one seed)").tag(config=True)
    results_dir = Unicode("", help="Folder for each submission's results.json "
                                   "(default: verdicts/ beside the gradebook)").tag(config=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        # The secret seed when none is configured. nbgrader makes a step per notebook, and a submission's
        # first notebook grades it, so this is one fresh seed per submission.
        self._run_seed = new_run_seed()

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        folder = _submission_folder(resources)
        table = points_table(resources["nbgrader"]["db_url"], resources["nbgrader"]["assignment"])
        grader = grader_digest()
        key = verdict_key(folder, grader, list(self.command), self.seed, table)
        target = results_folder(resources["nbgrader"]["db_url"], self.results_dir) / resources["nbgrader"]["assignment"]
        target.mkdir(parents=True, exist_ok=True)
        student = resources["nbgrader"]["student"]
        if key not in _RESULTS:
            self.log.info("Autograder: grading %s", folder)
            started = time.perf_counter()
            _RESULTS[key] = run_autograder(folder, list(self.command), self.timeout,
                                           self._run_seed if self.seed < 0 else self.seed,
                                           log=target / f"{student}.log", table=table, grader=grader)
            self.log.info("Autograder: graded in %.2f s", time.perf_counter() - started)
        resources.setdefault("cs_conv", {})["autograder"] = _RESULTS[key]
        write_results(target / f"{student}.json", key, _RESULTS[key])
        return nb, resources


def write_results(path: Path, key: str, results: dict) -> None:
    """Write ``results`` (the verdict cached under ``key``) to ``path`` as JSON, unless this process
    wrote that verdict there last and the file is as it left it (same size and modification time).

    ``RunAutograder`` runs for each of a submission's notebooks with the same verdict, which used to
    be serialised and written again each time. A file deleted or replaced since (another grading of
    that student, an instructor's edit) is written afresh, and so is a new verdict.
    """
    try:
        found = path.stat()
    except FileNotFoundError:
        found = None
    if found is not None and _WRITTEN.get(path) == (key, found.st_size, found.st_mtime_ns):
        return
    path.write_text(json.dumps(results, indent=1))
    written = path.stat()
    _WRITTEN[path] = (key, written.st_size, written.st_mtime_ns)


def results_folder(db_url: str, configured: str = "") -> Path:
    """Where results.json files go: ``configured``, or ``verdicts/`` beside a sqlite gradebook."""
    if configured:
        return Path(configured)
    if not db_url.startswith("sqlite:///"):
        raise AutograderError(f"set RunAutograder.results_dir: cannot place it beside gradebook {db_url}")
    return Path(db_url[len("sqlite:///"):]).resolve().parent / "verdicts"


class ApplyVerdicts(NbGraderPreprocessor):
    """Replace every autograded cell's outputs with the autograder's verdict and points."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        results = resources.get("cs_conv", {}).get("autograder")
        if results is None:
            raise AutograderError("ApplyVerdicts needs RunAutograder earlier in the pipeline")
        info = resources["nbgrader"]
        cells = conversion_source_cells(resources)
        if cells is None:
            raise AutograderError(f"the gradebook has no notebook {info['notebook']} in {info['assignment']}")
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            if meta is None:
                continue
            grade_id = meta.get("grade_id")
            if grade_id not in cells:
                # Not a cell of the source notebook: whatever it claims, it is not graded.
                del cell.metadata["nbgrader"]
                continue
            function = function_for(grade_id)
            if function is None or cell.cell_type != "code" or not cells[grade_id].nbgrader["grade"]:
                continue
            self._apply(cell, function, cells[grade_id].nbgrader["points"], results)
        return nb, resources

    def _apply(self, cell: NotebookNode, function: str, max_points: float, results: dict) -> None:
        tests = cases_for(results, function)
        if not tests:
            self.log.error("Autograder: no tests for %s; its cell scores 0", function)
        score = cell_score(results, function, max_points)
        cell.metadata["nbgrader"].update({"grade": True, "solution": False, "locked": True, "points": max_points})
        cell.outputs = [
            from_dict({"output_type": "stream", "name": "stdout",
                       "text": verdict_text(function, tests, max_points, score)}),
            from_dict({"output_type": "execute_result", "execution_count": cell.get("execution_count"),
                       "metadata": {}, "data": {"text/plain": repr(score)}}),
        ]
        if utils.determine_grade(cell, self.log)[0] != score:
            raise AutograderError(f"nbgrader would not read {score} from the {function} cell")


class LimitOutputBytes(NbGraderPreprocessor):
    """Cap each cell's outputs at ``max_bytes`` (LimitOutput counts only stream lines)."""

    max_bytes = Integer(1_000_000, help="Largest total size of one cell's outputs, in bytes").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        if cell.cell_type != "code":
            return cell, resources
        kept, total = [], 0
        for output in cell.outputs:
            size = len(json.dumps(output))
            if total + size > self.max_bytes:
                kept.append(from_dict({"output_type": "stream", "name": "stdout",
                                       "text": f"... {len(cell.outputs) - len(kept)} output(s) removed: "
                                               f"more than {self.max_bytes} bytes ...\n"}))
                break
            kept.append(output)
            total += size
        cell.outputs = kept
        return cell, resources


class StripForgedCells(NbGraderPreprocessor):
    """First of all on a submitted notebook: its nbgrader metadata, repaired from the source notebook's.

    A student can edit any cell's nbgrader metadata: mark a grade cell ``grade: false``, give
    a read-only cell points, turn a grade cell into markdown, change or copy a ``grade_id``,
    or make a grade cell up. nbgrader's own steps trust that metadata and fail the whole
    notebook on much of it (``DeduplicateIds`` and ``OverwriteCells`` raise, ``CheckCellMetadata``
    rejects it), or lose the student's answer. So every cell that names a source cell gets
    that cell's type and nbgrader metadata back, exactly as they were released; of several
    claiming one id only the last keeps it (nbgrader's own choice); every other cell loses
    its nbgrader metadata. ``RestoreMissingCells`` then puts back grade cells that are gone,
    and ``OverwriteCells`` the sources of read-only ones.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        cells = conversion_source_cells(resources)
        if cells is None:
            return nb, resources
        claims = [_claimed_id(cell, cells) for cell in nb.cells]
        last = {name: k for k, name in enumerate(claims) if name is not None}
        for k, name in enumerate(claims):
            cell = nb.cells[k]
            if not isinstance(cell.get("metadata"), dict):
                cell["metadata"] = NotebookNode()
            if name is None or last[name] != k:
                cell.metadata.pop("nbgrader", None)
                continue
            source = cells[name]
            metadata = {**cell.metadata, "nbgrader": dict(source.nbgrader)}
            if cell.cell_type == source.cell_type:
                cell.metadata = from_dict(metadata)
            else:
                nb.cells[k] = _new_cell(source.cell_type, cell.source, metadata)
        return nb, resources


class RestoreMissingCells(NbGraderPreprocessor):
    """Put back grade cells a student deleted, after the nearest source cell still present.

    nbgrader 0.9's ``OverwriteCells.add_missing_cells`` does this too, but raises ``KeyError``
    when the cell before the deleted one is a read-only cell (every grade cell here follows
    one), which fails the whole notebook. Run before ``OverwriteCells``, which then restores
    the cells' sources and finds nothing missing.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        cells = conversion_source_cells(resources)
        if cells is None:
            return nb, resources
        order = _source_order(info, cells)
        for position, name in enumerate(order):
            present = {cell.metadata.get("nbgrader", {}).get("grade_id"): k for k, cell in enumerate(nb.cells)}
            source = cells[name]
            if not source.nbgrader["grade"] or name in present:
                continue
            before = [present[earlier] for earlier in order[:position] if earlier in present]
            self.log.warning("Grade cell %s was missing; restored", name)
            nb.cells.insert(before[-1] + 1 if before else 0,
                            _new_cell(source.cell_type, source.source, {"nbgrader": dict(source.nbgrader)}))
        return nb, resources


@dataclass(frozen=True)
class SourceCell:
    """A cell of the source notebook as the gradebook keeps it."""

    cell_type: str
    source: str
    nbgrader: dict  # the nbgrader metadata the cell was released with


def source_cells(info: dict) -> dict[str, SourceCell] | None:
    """Every cell of this notebook's source by id, from the gradebook; None when it has no such notebook.

    The metadata is rebuilt from what ``nbgrader generate_assignment`` recorded (grade, solution,
    task and read-only cells, points and checksums), never from a submitted notebook.
    ``info`` is nbgrader's ``resources["nbgrader"]`` (``db_url``, ``assignment``, ``notebook``).
    """
    def read(notebook) -> dict[str, SourceCell]:
        grades = {cell.name: float(cell.max_score) for cell in notebook.grade_cells}
        tasks = {cell.name: float(cell.max_score) for cell in notebook.task_cells}
        solutions = {cell.name for cell in notebook.solution_cells}
        cells = {}
        for cell in notebook.source_cells:
            meta = {"grade": cell.name in grades, "grade_id": cell.name, "locked": bool(cell.locked),
                    "schema_version": SCHEMA_VERSION, "solution": cell.name in solutions,
                    "task": cell.name in tasks, "cell_type": cell.cell_type}
            if cell.name in grades or cell.name in tasks:
                meta["points"] = grades.get(cell.name, tasks.get(cell.name))
            if cell.checksum:
                meta["checksum"] = cell.checksum
            cells[cell.name] = SourceCell(cell.cell_type, cell.source, meta)
        return cells

    with Gradebook(info["db_url"]) as gradebook:
        try:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
        except MissingEntry:
            return None
        return read(notebook)  # while the gradebook is open: its cells load lazily


def conversion_source_cells(resources: dict) -> dict[str, SourceCell] | None:
    """``source_cells`` for the notebook being converted, read from the gradebook once per conversion.

    nbgrader gives each conversion of a notebook (sanitising, then autograding) a fresh ``resources``,
    which its steps hand on one to the next; ``StripForgedCells``, ``SubmittedOutputs`` and
    ``RestoreMissingCells`` share one reading (kept in ``resources["cs_conv"]`` with the gradebook,
    assignment and notebook it was read for), where each used to read the gradebook again. A gradebook
    changed between conversions (regenerated while formgrader runs) is read afresh by the next one.
    Callers must not change the cells: each step that puts metadata in a notebook copies it.
    """
    info = resources["nbgrader"]
    read_for = (info["db_url"], info["assignment"], info["notebook"])
    kept = resources.setdefault("cs_conv", {}).get("source_cells")
    if kept is None or kept[0] != read_for:
        kept = resources["cs_conv"]["source_cells"] = (read_for, source_cells(info))
    return kept[1]


def _claimed_id(cell: NotebookNode, known: dict[str, SourceCell]) -> str | None:
    """The source cell id a submitted cell's nbgrader metadata names, if it names one at all."""
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    name = meta.get("grade_id") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and name in known else None


def _new_cell(cell_type: str, source: str, metadata: dict) -> NotebookNode:
    """A fresh, valid cell of ``cell_type``: no outputs or attachments left from another type."""
    make = {"code": v4.new_code_cell, "markdown": v4.new_markdown_cell, "raw": v4.new_raw_cell}[cell_type]
    return make(source=source, metadata=from_dict(metadata))


def _source_order(info: dict, sources: dict) -> list[str]:
    """Cell ids in the order of the source notebook (beside the gradebook), else the gradebook's."""
    db_url = info["db_url"]
    if db_url.startswith("sqlite:///"):
        path = (Path(db_url[len("sqlite:///"):]).parent / "source" / info["assignment"]
                / f"{info['notebook']}.ipynb")
        if path.is_file():
            cells = json.loads(path.read_text())["cells"]
            order = [cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in cells]
            return [name for name in order if name in sources]
    return list(sources)

