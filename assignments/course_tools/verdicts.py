"""nbgrader preprocessors that grade with the sandboxed autograder instead of the student's kernel.

A grade cell in this course holds no test, only a comment naming a student function
(``course_tools.cells.autograded``). Two steps in ``Autograde.autograde_preprocessors``
(see ``nbgrader_config.py``) turn it into a score:

``RunAutograder`` (before ``Execute``)
    runs ``python -m autograder grade FOLDER --format json`` once per submission, on the
    submission's folder as nbgrader copied it and before any of its notebooks' kernels has
    run, and keeps the results (in memory, and as JSON in ``results_dir`` for the exports).
``ApplyVerdicts`` (after ``Execute`` and ``LimitOutput``, before ``SaveAutoGrades``)
    replaces each grade cell's outputs with the verdict: the messages of the tests whose
    name starts with ``<function>:``, then the points as a number, which ``SaveAutoGrades``
    reads as partial credit (``nbgrader.utils.determine_grade``). Whatever the kernel printed
    in a grade cell, errors and stderr included, is discarded. Cells whose nbgrader metadata
    does not match the gradebook (a student's forged grade cell) lose that metadata.

A grade cell scores ``points * sum(score) / sum(max_score)`` over its function's tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cs_conv.tasks import TASKS
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, List, Unicode

from course_tools import points
from course_tools.cells import function_for

REPO = Path(__file__).resolve().parents[2]
# One autograder run per distinct submission per grading process (key: digest of its files).
_RESULTS: dict[str, dict] = {}


class AutograderError(RuntimeError):
    """The autograder itself failed (not the student's code): grading must stop and say why."""


def submission_digest(folder: Path) -> str:
    """A digest of every regular file under ``folder`` except notebooks and checkpoints."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb" or ".ipynb_checkpoints" in relative.parts:
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def run_autograder(folder: Path, command: list[str], timeout: int) -> dict:
    """Grade ``folder`` with the autograder's command line and return its results.json."""
    with tempfile.TemporaryDirectory(prefix="cs-conv-verdict-") as tmp:
        out = Path(tmp) / "results.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        env.pop("NBGRADER_EXECUTION", None)
        try:
            proc = subprocess.run([*command, "grade", str(folder), "--format", "json", "--out", str(out)],
                                  cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise AutograderError(f"the autograder took more than {timeout} s on {folder}") from error
        if proc.returncode != 0 or not out.is_file():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise AutograderError(f"the autograder exited with {proc.returncode} on {folder}:\n{tail}")
        try:
            results = json.loads(out.read_text())
        except json.JSONDecodeError as error:
            raise AutograderError(f"the autograder wrote invalid JSON for {folder}: {error}") from error
    if not isinstance(results.get("tests"), list):
        raise AutograderError(f"the autograder's results for {folder} have no 'tests' list")
    return results


def cases_for(results: dict, function: str) -> list[dict]:
    """The tests that judge ``function`` (see ``course_tools.points.cases_for``)."""
    return points.cases_for(results, function, TASKS[function])


def cell_score(tests: list[dict], max_points: float) -> float:
    return points.cell_score(tests, max_points)


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
        lines.append(f"  {'passed' if ok else 'FAILED'}  {case}")
        message = str(test.get("output") or "").strip()
        if message and not ok and test.get("visibility") != "hidden":
            lines.extend("          " + line for line in message.splitlines()[:12])
    return "\n".join(lines) + "\n"


def _submission_folder(resources: dict) -> Path:
    return Path(resources["metadata"]["path"]).resolve()


class RunAutograder(NbGraderPreprocessor):
    """Run the autograder on a submission once, before any of its notebooks is executed."""

    command = List(Unicode(), [sys.executable, "-m", "autograder"],
                   help="The autograder's command line, run from the repository root").tag(config=True)
    timeout = Integer(900, help="Seconds the autograder may take for one submission").tag(config=True)
    results_dir = Unicode("", help="Folder for each submission's results.json "
                                   "(default: verdicts/ beside the gradebook)").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        folder = _submission_folder(resources)
        key = submission_digest(folder)
        if key not in _RESULTS:
            self.log.info("Autograder: grading %s", folder)
            _RESULTS[key] = run_autograder(folder, list(self.command), self.timeout)
        resources.setdefault("cs_conv", {})["autograder"] = _RESULTS[key]
        target = results_folder(resources["nbgrader"]["db_url"], self.results_dir) / resources["nbgrader"]["assignment"]
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{resources['nbgrader']['student']}.json").write_text(json.dumps(_RESULTS[key], indent=1))
        return nb, resources


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
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            known = {cell.name for cell in notebook.source_cells}
            maximum = {cell.name: float(cell.max_score) for cell in notebook.grade_cells}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            if meta is None:
                continue
            grade_id = meta.get("grade_id")
            if grade_id not in known:
                # Not a cell of the source notebook: whatever it claims, it is not graded.
                del cell.metadata["nbgrader"]
                continue
            function = function_for(grade_id)
            if function is None or cell.cell_type != "code":
                continue
            self._apply(cell, function, maximum.get(grade_id, float(meta.get("points", 0))), results)
        return nb, resources

    def _apply(self, cell: NotebookNode, function: str, max_points: float, results: dict) -> None:
        tests = cases_for(results, function)
        if not tests:
            self.log.error("Autograder: no tests for %s; its cell scores 0", function)
        score = cell_score(tests, max_points)
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
    """Before nbgrader checks a submitted notebook: drop nbgrader metadata the source never had.

    A student can give any cell nbgrader metadata (a made-up grade cell, a grade cell without an
    id) and ``CheckCellMetadata`` would then fail the whole notebook. Only cells whose id is a
    source cell of this notebook keep their metadata; ``OverwriteCells`` then restores the rest.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        known = read_source_notebook(resources["nbgrader"],
                                     lambda notebook: {cell.name for cell in notebook.source_cells})
        if known is None:
            return nb, resources
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            if meta is not None and (not isinstance(meta, dict) or meta.get("grade_id") not in known):
                del cell.metadata["nbgrader"]
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
        entry = read_source_notebook(info, lambda notebook: (
            {cell.name: (cell.cell_type, cell.source, cell.locked, cell.checksum) for cell in notebook.source_cells},
            {cell.name: float(cell.max_score) for cell in notebook.grade_cells},
            {cell.name for cell in notebook.solution_cells},
        ))
        if entry is None:
            return nb, resources
        sources, maximum, solutions = entry
        order = _source_order(info, sources)
        for position, name in enumerate(order):
            present = {cell.metadata.get("nbgrader", {}).get("grade_id"): k for k, cell in enumerate(nb.cells)}
            if name not in maximum or name in present:
                continue
            before = [present[earlier] for earlier in order[:position] if earlier in present]
            cell_type, source, locked, checksum = sources[name]
            meta = {"grade": True, "grade_id": name, "locked": locked, "points": maximum[name],
                    "schema_version": 3, "solution": name in solutions, "task": False, "checksum": checksum}
            cell = {"cell_type": cell_type, "metadata": {"nbgrader": meta}, "source": source}
            if cell_type == "code":
                cell.update(outputs=[], execution_count=None)
            self.log.warning("Grade cell %s was missing; restored", name)
            nb.cells.insert(before[-1] + 1 if before else 0, from_dict(cell))
        return nb, resources


def read_source_notebook(info: dict, read):
    """``read(notebook)`` on this notebook's entry in the gradebook, called while the gradebook is
    open (its cells load lazily), or None when the gradebook has no such notebook.

    ``info`` is nbgrader's ``resources["nbgrader"]`` (``db_url``, ``assignment``, ``notebook``).
    """
    with Gradebook(info["db_url"]) as gradebook:
        try:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
        except MissingEntry:
            return None
        return read(notebook)


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

