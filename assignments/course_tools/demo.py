"""The whole course cycle on sample submissions: ``make demo``.

    python -m course_tools.demo [--out DIR]

In a fresh course folder (``demo_output/course``, never the real ``assignments/``): the release,
four sample submissions (``course_tools.samples``), autograding through nbgrader with the sandboxed
autograder's verdicts, feedback, grades.csv and the per-test CSV, then a table of every student's
score per notebook. It uses nbgrader's embedded sqlite gradebook; no server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from course_tools.grading import grade, table
from course_tools.jail import INSECURE, kernel_sandbox
from course_tools.paths import REPO
from course_tools.release import COURSE, ReleaseError, make_release
from course_tools.samples import BUGS, SAMPLES, UNFINISHED, make_samples

DEFAULT_OUT = REPO / "demo_output"
DEMO_CELL_TIMEOUT = 20


def make_course(folder: Path) -> Path:
    """A course folder that uses the repository's settings and source notebooks."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text(
        "# Written by course_tools.demo: the repository's course settings, rooted here.\n"
        f"load_subconfig({str(COURSE / 'nbgrader_config.py')!r})\n"
        f"c = get_config()  # noqa: F821\nc.CourseDirectory.root = {str(folder)!r}\n"
        "# Every demo cell runs in seconds; a short timeout keeps the hostile sample's endless loop short.\n"
        f"c.Execute.timeout = {DEMO_CELL_TIMEOUT}\n")
    shutil.copytree(COURSE / "source", folder / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return folder


def run(out: Path = DEFAULT_OUT, log=print) -> dict:
    """Release, samples, grading; return the grading summary with timings added."""
    start = time.perf_counter()
    course = make_course(out / "course")
    log(f"course folder: {course}")
    release = make_release(course)
    release_seconds = time.perf_counter() - start
    log(f"release:       {release} (made and scanned for leaks in {release_seconds:.0f} s)")
    names = SAMPLES
    if not kernel_sandbox().isolated:
        # Without namespaces student code runs with your files in reach: the hostile sample would
        # really scribble on them. The demo's other samples are the kit's own, so it grades them
        # anyway (CS_CONV_INSECURE=1, which every report then states); real submissions need root.
        os.environ[INSECURE] = "1"
        names = tuple(name for name in SAMPLES if name != "hostile")
        log("note:          student code cannot be isolated here "
            f"({kernel_sandbox().protections.reason}): the demo grades its own samples with {INSECURE}=1 "
            "and leaves the hostile one out; run as root on Linux to include it")
    samples = make_samples(course, names)
    log("samples:       " + ", ".join(samples))
    bugs = dict.fromkeys(f"{b.function}: {b.why}" for b in BUGS)
    log("               partial has these bugs: " + "; ".join(bugs))
    log("               and leaves unfinished: " + ", ".join(UNFINISHED))
    log("grading through nbgrader (each notebook in a jailed kernel, verdicts from the autograder)...")
    # Re-run every notebook: the demo shows the kernels' sandbox at work (on the hostile sample too).
    summary = grade(course, log=log, execute=True)
    summary.update(course=course, release=release, seconds=time.perf_counter() - start)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the demo course goes")
    args = parser.parse_args(argv)
    try:
        summary = run(args.out)
    except ReleaseError as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    course = summary["course"]
    print("\nScores in points, as in grades.csv (per notebook: autograded; written answers wait for a person):\n")
    print(table(summary["rows"]))
    print(f"\nDemo finished in {summary['seconds']:.0f} s (autograding {summary['autograde_seconds']:.0f} s).")
    print("Outputs:")
    print(f"  release for students   {summary['release']}")
    print(f"  sample submissions     {course / 'submitted'}/<student>/cnn")
    print(f"  graded notebooks       {course / 'autograded'}/<student>/cnn")
    print(f"  feedback (HTML)        {summary['feedback']}/<student>/cnn/*.html")
    for name, path in summary["exports"].items():
        print(f"  {name + '.csv':22s} {path}")
    print(f"  gradebook (sqlite)     {course / 'gradebook.db'}")
    print(f"  nbgrader log           {summary['log']}")
    for failure in summary["failures"]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
