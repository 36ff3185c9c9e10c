"""The student release of assignment ``cnn``, made by nbgrader itself: ``assignments/release/cnn/``.

    nbgrader generate_assignment cnn --force     (in assignments/; formgrader's Generate button alike)
    python -m course_tools.release [--course DIR]  (make release: that command, and a summary)

The course's nbgrader config ends ``GenerateAssignment``'s preprocessors with ``ReleaseFiles``, so every
way of generating gives the same folder. nbgrader empties the release folder, copies the source's
non-notebook files (there must be none) and converts the notebooks one by one; on the first notebook
of a run ``ReleaseFiles`` writes what a student needs beside them:

1. ``cs_conv/`` from ``course_tools.fences.write_student_copy``: every solution fence becomes its stub;
2. ``setup.py``, ``pyproject.toml``, ``requirements.txt``, ``README.md``, and the ``data/`` files the
   kit ships;
3. the student's ``nbgrader_config.py`` (validate runs every cell; submit leaves out ``NOT_SUBMITTED``)
   and ``collect_submission.py``, which zips what is graded for Gradescope or a learning platform;

and scans them for leaks (``course_tools.leaks``); on every notebook it scans the notebook as nbgrader
writes it. A finding raises: nbgrader then deletes the release folder and exits with an error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from course_tools.fences import write_student_copy
from course_tools.leaks import LeakScan
from course_tools.paths import ASSIGNMENT, COURSE, REPO, SOLVED

FILES = Path(__file__).with_name("release_files")
# Data that is fetched, not shipped: never copied into a release.
DATA_SKIPPED = ("cifar-10-batches-py", "cifar-10-python.tar.gz")
# What nbgrader never submits, collects or grades from a student's folder (CourseDirectory.ignore,
# in the course's config and the student's): environments, build products, caches, the upload zip.
NOT_SUBMITTED = [".ipynb_checkpoints", "__pycache__", "*.pyc", "feedback", ".venv", "venv", "build", "*.egg-info",
                 "*.so", "*.pyd", "*.o", "*.c", ".pytest_cache", ".hypothesis", "*.zip"]


class ReleaseError(RuntimeError):
    """The release could not be made, or it leaks (``log``: the full output of a failed command)."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log


def nbgrader_env() -> dict[str, str]:
    """The environment nbgrader needs: it runs ``alembic`` by name, so this venv's bin goes first on PATH."""
    bin_dir = str(Path(os.path.abspath(sys.executable)).parent)
    return {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}


def nbgrader(course: Path, *args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in ``course``; raise with its log if it fails."""
    # Output goes through files, not pipes: a pipe's reader waits for every process that inherited
    # it, and nbgrader starts student kernels.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, stdin=subprocess.DEVNULL,
                              stdout=out, stderr=err, text=True, env=nbgrader_env())
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess(done.args, done.returncode, out.read(), err.read())
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if "| ERROR]" in line or "Error" in line]
        raise ReleaseError(f"nbgrader {' '.join(args)} failed:\n" + "\n".join(errors[-20:]),
                           log=proc.stdout + proc.stderr)
    if not quiet:
        print(proc.stderr, end="")
    return proc


def student_packages(package: Path) -> list[str]:
    """Dotted names of ``package`` and every sub-package in it, for the release's pyproject."""
    names = []
    for init in sorted(package.rglob("__init__.py")):
        relative = init.parent.relative_to(package.parent)
        names.append(".".join(relative.parts))
    return names


def write_packaging(release: Path, course_id: str) -> None:
    """setup.py (the repository's: it only calls cythonize), pyproject.toml, requirements, README, the
    student's nbgrader config and the submission zip script."""
    shutil.copy(REPO / "setup.py", release / "setup.py")
    packages = ", ".join(f'"{name}"' for name in student_packages(SOLVED))
    pyproject = (FILES / "pyproject.toml.in").read_text().replace("@PACKAGES@", packages)
    (release / "pyproject.toml").write_text(pyproject)
    config = (FILES / "nbgrader_config.py.in").read_text()
    for key, value in {"@COURSE_ID@": course_id, "@ASSIGNMENT@": release.name, "@IGNORE@": repr(NOT_SUBMITTED)}.items():
        config = config.replace(key, value)
    (release / "nbgrader_config.py").write_text(config)
    for name in ("requirements.txt", "README.md", "collect_submission.py"):
        shutil.copy(FILES / name, release / name)


def copy_data(release: Path) -> None:
    source = REPO / "data"
    target = release / "data"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*DATA_SKIPPED, "__pycache__", ".*"))


def write_release_files(source: Path, release: Path, course_id: str) -> None:
    """Everything of the release but the notebooks: stubbed ``cs_conv``, packaging, ``data/``."""
    stray = [p for p in source.rglob("*")
             if p.is_file() and p.suffix != ".ipynb" and ".ipynb_checkpoints" not in p.parts]
    if stray:
        # nbgrader has copied them into the release, and autograde would copy them over every
        # submission: solved code must not be here.
        raise ReleaseError(f"{source} must hold notebooks only; found " + ", ".join(map(str, stray)))
    write_student_copy(SOLVED, release / "cs_conv")
    write_packaging(release, course_id)
    copy_data(release)


class ReleaseFiles(NbGraderPreprocessor):
    """The last of ``GenerateAssignment``'s preprocessors: the release's other files, and the leak scan."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # One instance serves one generate_assignment run: the folders it has written and their scans.
        self._scans: dict[Path, LeakScan] = {}

    def _course_directory(self) -> CourseDirectory:
        owner = self.parent  # the exporter, whose parent is nbgrader's converter
        while owner is not None and not isinstance(getattr(owner, "coursedir", None), CourseDirectory):
            owner = owner.parent
        if owner is None:
            raise ReleaseError("ReleaseFiles runs inside nbgrader generate_assignment only")
        return owner.coursedir

    def preprocess(self, nb, resources):
        coursedir = self._course_directory()
        assignment = resources["nbgrader"]["assignment"]
        release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
        findings = []
        scan = self._scans.get(release)
        if scan is None:
            source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
            scan = self._scans[release] = LeakScan(source)
            write_release_files(source, release, coursedir.course_id)
            findings += scan.folder(release)
        name = resources["nbgrader"]["notebook"] + ".ipynb"
        findings += scan.contents(name, nbformat.writes(nb).encode())
        if findings:
            # One line: nbgrader logs the traceback, and make release prints its error lines.
            raise ReleaseError("the release leaks: " + "; ".join(findings))
        return nb, resources


def make_release(course: Path = COURSE, assignment: str = ASSIGNMENT) -> Path:
    """``nbgrader generate_assignment ASSIGNMENT --force`` in ``course``; return the release folder."""
    course = Path(course).resolve()
    proc = nbgrader(course, "generate_assignment", assignment, "--force")
    release = course / "release" / assignment
    if not (release / "cs_conv").is_dir():
        # nbgrader logs a config file that raises and carries on with its defaults: notebooks only.
        errors = [line for line in proc.stderr.splitlines() if "ERROR" in line or "Error" in line]
        raise ReleaseError(f"{release} has no cs_conv/: ReleaseFiles did not run. Does {course / 'nbgrader_config.py'} "
                           "load? nbgrader goes on without a config that raises:\n" + "\n".join(errors[-10:]),
                           log=proc.stdout + proc.stderr)
    return release


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=COURSE, help="the nbgrader course folder")
    args = parser.parse_args(argv)
    try:
        release = make_release(args.course)
    except ReleaseError as error:
        print(f"release failed: {error}", file=sys.stderr)
        return 1
    files = sum(1 for p in release.rglob("*") if p.is_file())
    print(f"release: {release} ({files} files, no leaks found)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
