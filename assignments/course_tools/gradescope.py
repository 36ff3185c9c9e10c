"""A Gradescope autograder bundle that runs the course's autograder: ``make gradescope``.

    python -m course_tools.gradescope [--out DIR] [--visibility visible|after_due_date|after_published|hidden]

Writes ``DIR/autograder.zip`` (default ``assignments/gradescope/``) and the same files unpacked
beside it, for reading. Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh``
once when it builds the image, then ``run_autograder`` for each submission, which grades
``/autograder/submission`` and writes ``/autograder/results/results.json``.

The bundle holds the ``autograder`` package (never the solved ``cs_conv``), ``points.json`` (each
autograded cell's function and points, read from the source notebooks), ``run_gradescope.py``,
which runs the autograder with ``--points points.json`` so that every function is worth its notebook
cell's points (the Gradescope score equals the autograded part of the nbgrader score), ``upload.py``, which finds
the student's files in a zip, a folder or a flat upload, the release's ``cs_conv`` (``release_cs_conv/``)
to fill in the files a student does not edit, and ``settings.json``: ``--visibility``, the one place
where the instructor says when students see the tests (Gradescope's ``visibility``), and the files
that hold tasks. Of the kit it carries three files more: ``cs_conv/tasks.py`` (with the package's
``__init__.py``, both plain data), the table of tasks the grader's catalog reads, and
``cs_conv/cython_directives.json``, the compiler directives ``autograder.build`` compiles a student's
Cython with. Written answers are graded by hand in nbgrader, not here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path

from cs_conv.tasks import TASKS

from course_tools.cells import function_for
from course_tools.fences import fenced_files, write_student_copy
from course_tools.paths import COURSE, GRADER, SOLVED, SOURCE

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = COURSE / "gradescope"
FILES = HERE / "gradescope_files"
# Gradescope's values for a test's "visibility", from the most to the least shown.
VISIBILITIES = ("visible", "after_published", "after_due_date", "hidden")
# The files of the kit the grader itself reads: none holds a solution.
GRADER_KIT_FILES = ("__init__.py", "tasks.py", "cython_directives.json")


def cell_points(source: Path = SOURCE) -> dict[str, dict]:
    """Each autograded function's notebook, task and points, from the source notebooks."""
    table = {}
    for path in sorted(source.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            function = function_for(meta.get("grade_id", "")) if meta.get("grade") else None
            if function:
                table[function] = {"notebook": path.stem, "task": TASKS[function].label, "points": meta["points"]}
    return table


def task_files(package: Path = SOLVED) -> list[str]:
    """Paths inside ``cs_conv`` of the files that hold a student task (a solution fence)."""
    return [path.relative_to(package).as_posix() for path in fenced_files(package)]


def make_bundle(out: Path = DEFAULT_OUT, source: Path = SOURCE, visibility: str = "visible") -> Path:
    """Write the unpacked bundle and ``autograder.zip`` into ``out``; return the zip's path."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility {visibility!r} is not one of Gradescope's: {', '.join(VISIBILITIES)}")
    out = Path(out)
    unpacked = out / "source"
    if unpacked.exists():
        shutil.rmtree(unpacked)
    unpacked.mkdir(parents=True)
    shutil.copytree(GRADER, unpacked / "autograder", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("setup.sh", "run_autograder", "run_gradescope.py", "upload.py", "requirements.txt"):
        shutil.copy(FILES / name, unpacked / name)
    write_student_copy(SOLVED, unpacked / "release_cs_conv")
    # Where the grader reads the table of tasks, and autograder.build the directives the student's
    # setup.py compiles with.
    (unpacked / "cs_conv").mkdir()
    for name in GRADER_KIT_FILES:
        shutil.copy(SOLVED / name, unpacked / "cs_conv" / name)
    (unpacked / "points.json").write_text(json.dumps(cell_points(source), indent=1) + "\n")
    settings = {"visibility": visibility, "task_files": task_files()}
    (unpacked / "settings.json").write_text(json.dumps(settings, indent=1) + "\n")
    for name in ("setup.sh", "run_autograder"):
        (unpacked / name).chmod(0o755)
    bundle = out / "autograder.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(unpacked.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(str(path.relative_to(unpacked)))
                info.external_attr = (path.stat().st_mode & 0o777) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return bundle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--visibility", choices=VISIBILITIES, default="visible",
                        help="when students see each test's result and message (default: visible)")
    args = parser.parse_args(argv)
    bundle = make_bundle(args.out, visibility=args.visibility)
    total = sum(entry["points"] for entry in cell_points().values())
    print(f"Gradescope bundle: {bundle} ({total:g} autograded points, tests {args.visibility}; "
          "upload it as the autograder)")
    print(f"unpacked for reading: {args.out / 'source'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
