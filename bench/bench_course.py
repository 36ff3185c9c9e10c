"""How long grading a course takes through the instructors' command, and where the time goes.

    python bench/bench_course.py [--students 100] [--workers 2] [--check-students 3]

1. A synthetic course in a temporary folder: the repository's nbgrader config and source notebooks,
   the release made by ``course_tools.release``, and ``--students`` distinct submissions. Each
   student's ``cs_conv`` is the solved kit with a different mix, function by function, of the
   realistic bugs of ``course_tools.samples.BUGS`` and of the tasks it leaves unfinished (256 mixes;
   past that, a comment naming the student keeps the files distinct). Its notebooks are as
   submitted, with outputs: the release's notebooks executed once with the solved kit, with the
   student's own written answers.
2. ``python -m course_tools.grading`` on it (``make grade``'s module, nbgrader underneath) with a
   build cache that holds no student's build (only Cython's shared utility module, as ``make build``
   leaves it), once per ``--workers`` count, each on a fresh copy: wall clock, seconds per
   student, students per hour, peak memory (the resident memory of the whole process tree,
   sampled), and where the time went, from the per-student logs (seconds of worker time per
   student): the autograder, notebook handling (nbgrader's conversions and our steps in them), kernels
   (re-execution only), nbgrader bookkeeping (copying, the gradebook, permissions) and feedback; then
   the export, once. It checks that each distinct ``.pyx`` was compiled once (the build cache).
3. The same command again, nothing changed: how long an incremental regrade takes (nothing autograded).
4. ``--execute --force --workers 1`` (a full, serial, re-executing regrade) on a copy holding the first
   ``--check-students`` students: its seconds per student, and whether every grade cell of every
   notebook got the same score as on the fast path (it must). Nothing under ``submitted/`` may change.

Targets (issue 15): at most 3 s per student with the default settings on 2 cores, 100 students;
``--execute``'s cost reported beside it; no grade differs between the two.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
COURSE_TOOLS = REPO / "assignments"
sys.path[:0] = [str(REPO), str(COURSE_TOOLS)]

from course_tools.demo import make_course  # noqa: E402
from course_tools.fences import student_text  # noqa: E402
from course_tools.grading import cell_grades  # noqa: E402
from course_tools.release import ASSIGNMENT, make_release  # noqa: E402
from course_tools.run_notebooks import run_notebook  # noqa: E402
from course_tools.samples import BUGS, UNFINISHED, plant, solved_sources, write_solution  # noqa: E402

from autograder.cases import SEED_BITS  # noqa: E402

LINE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \[\w+\] (.*)$")


# ---- the course -------------------------------------------------------------------------------

def executed_notebooks(course: Path, scratch: Path) -> dict[str, dict]:
    """The release's notebooks, run once with the solved kit and answered: name -> notebook JSON."""
    folder = scratch / "solved"
    write_solution(course / "release" / ASSIGNMENT, course / "source" / ASSIGNMENT, folder)
    build = subprocess.run([sys.executable, "setup.py", "--quiet", "build_ext", "--inplace"], cwd=folder,
                           capture_output=True, text=True)
    if build.returncode != 0:
        sys.exit(f"the solved kit does not build:\n{build.stderr[-2000:]}")
    notebooks = {}
    for path in sorted(folder.glob("*.ipynb")):
        result = run_notebook(path, cwd=folder, env={"PYTHONPATH": str(folder)}, timeout=600)
        print(f"  executed {path.name} in {result.seconds:.0f} s"
              f"{'' if result.clean else ' (with errors: ' + '; '.join(result.errors[:2]) + ')'}", flush=True)
        notebooks[path.name] = json.loads(json.dumps(result.notebook))
    return notebooks


def mixes(count: int, seed: int = 15) -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
    """``count`` mixes of (indices of BUGS planted, tasks left unfinished), distinct while they last."""
    every = [(tuple(b for b in range(len(BUGS)) if bugs >> b & 1),
              tuple(t for k, t in enumerate(UNFINISHED) if todo >> k & 1))
             for bugs in range(2 ** len(BUGS)) for todo in range(2 ** len(UNFINISHED))]
    random.Random(seed).shuffle(every)
    return [every[k % len(every)] for k in range(count)]


def write_student(course: Path, student: str, mix, notebooks: dict[str, dict], index: int, total_mixes: int) -> None:
    bugs, unfinished = mix
    folder = course / "submitted" / student / ASSIGNMENT
    shutil.copytree(course / "release" / ASSIGNMENT, folder)
    for relative, text in solved_sources().items():
        text = student_text(text, relative, unfinished=unfinished)
        for bug in (BUGS[b] for b in bugs if BUGS[b].path == relative):
            text = plant(text, bug)
        if relative == "cs_conv/layers.py" and index >= total_mixes:
            text += f"\n# {student}: my own copy\n"
        (folder / relative).write_text(text)
    for name, notebook in notebooks.items():
        nb = json.loads(json.dumps(notebook))
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("My answer:"):
                cell["source"] = f"{student} writes: " + "".join(cell["source"])
        (folder / name).write_text(json.dumps(nb, indent=1))


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def copy_course(course: Path, target: Path, keep: list[str] | None = None) -> Path:
    """A copy of the course before grading, with only the students in ``keep`` (all when None)."""
    shutil.copytree(course, target, symlinks=True)
    (target / "nbgrader_config.py").write_text(
        (course / "nbgrader_config.py").read_text().replace(repr(str(course)), repr(str(target))))
    if keep is not None:
        for folder in (target / "submitted").iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder)
    return target


# ---- measuring --------------------------------------------------------------------------------

class PeakMemory:
    """The largest resident memory of a process and all its descendants, sampled every 0.2 s."""

    def __init__(self, pid: int):
        self.root, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            total = 0
            try:
                for process in [self.root, *self.root.children(recursive=True)]:
                    try:
                        total += process.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                continue
            self.peak = max(self.peak, total)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def prepared_cache(cache: Path) -> Path:
    """``cache`` (an ``XDG_CACHE_HOME``) as ``make build`` leaves an instructor's: Cython's shared utility
    module built, no student's ``.pyx``."""
    builds = cache / "cs-conv-autograder" / "builds"
    subprocess.run([sys.executable, "-m", "autograder", "prepare", "--cache", str(builds)], cwd=REPO, check=True,
                   capture_output=True)
    return cache


def grade(course: Path, cache: Path, *args: str) -> dict:
    """``python -m course_tools.grading --course COURSE ARGS``: wall seconds, peak memory, its timings."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": os.pathsep.join([str(REPO), str(COURSE_TOOLS)])}
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, "-m", "course_tools.grading", "--course", str(course), *args],
                                cwd=COURSE_TOOLS, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        memory = PeakMemory(proc.pid)
        code = proc.wait()
        peak = memory.stop()
        out.seek(0)
        output = out.read()
    seconds = time.perf_counter() - started
    if code != 0:
        print(output[-4000:])
        sys.exit(f"grading failed (exit {code}) on {course}")
    timings = json.loads((course / "logs" / "timings.json").read_text())
    return {"seconds": seconds, "peak": peak, "timings": timings, "output": output}


def breakdown(course: Path, timings: dict) -> dict[str, float]:
    """Worker seconds per student, by step, from the per-student logs."""
    totals = dict.fromkeys(("autograder", "kernels", "notebook handling", "nbgrader bookkeeping", "feedback"), 0.0)
    students = timings["students"]
    for student, seconds in students.items():
        autograder = kernels = handling = 0.0
        notebook_started = None
        for line in (course / "logs" / f"autograde-{student}.log").read_text().splitlines():
            match = LINE.match(line)
            if not match:
                continue
            h, m, s, ms, message = match.groups()
            at = int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000
            if message.startswith("Autograder: graded in "):
                autograder += float(message.split()[3])
            elif message.startswith("Executed ") and message.endswith(" s"):
                kernels += float(message.split()[-2])
            if message.startswith(("Sanitizing ", "Setting destination file permissions to 444")):
                if notebook_started is not None:
                    handling += at - notebook_started
                notebook_started = at if message.startswith("Sanitizing ") else None
        totals["autograder"] += autograder
        totals["kernels"] += kernels
        totals["notebook handling"] += max(0.0, handling - autograder - kernels)
        totals["nbgrader bookkeeping"] += max(0.0, seconds["autograde_seconds"] - handling)
        totals["feedback"] += seconds["feedback_seconds"]
    return {name: value / max(1, len(students)) for name, value in totals.items()}


def report(label: str, run: dict, students: int, course: Path) -> None:
    per = run["seconds"] / students
    print(f"\n{label}: {students} students in {run['seconds']:.1f} s wall = {per:.2f} s per student, "
          f"{3600 / per:.0f} students per hour on {os.cpu_count()} cores; peak memory {run['peak'] / 2**30:.2f} GiB")
    parts = breakdown(course, run["timings"])
    worker = sum(parts.values())
    print(f"  worker time per student: {worker:.2f} s")
    for name, value in parts.items():
        print(f"    {name:22s} {value:6.2f} s  ({100 * value / max(worker, 1e-9):4.1f}%)")
    print(f"  once per run:  plan (digests, gradebook) {run['timings']['plan']:.1f} s, "
          f"export {run['timings']['export']:.1f} s, "
          f"pool (all workers) {run['timings']['autograde_and_feedback']:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)  # the course: make bench measures it
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="worker counts to measure")
    parser.add_argument("--check-students", type=int, default=3,
                        help="students regraded with --execute, serially, and compared (0: skip)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the courses in this folder")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-course-")) if args.keep is None else args.keep
    scratch.mkdir(parents=True, exist_ok=True)
    identical = True
    try:
        print(f"course: {args.students} students in {scratch}", flush=True)
        start = time.perf_counter()
        course = make_course(scratch / "course")
        # One secret seed for every grading of this course: the autograder draws each case's inputs
        # from it, so the fast and the re-executing gradings judge the same inputs and must agree.
        with open(course / "nbgrader_config.py", "a") as config:
            config.write(f"c.RunAutograder.seed = {secrets.randbelow(1 << SEED_BITS)}\n")
        make_release(course)
        notebooks = executed_notebooks(course, scratch)
        names = [f"student{k:03d}" for k in range(args.students)]
        chosen = mixes(args.students)
        for index, (student, mix) in enumerate(zip(names, chosen, strict=True)):
            write_student(course, student, mix, notebooks, index, 2 ** (len(BUGS) + len(UNFINISHED)))
        pyx = {(course / "submitted" / s / ASSIGNMENT / "cs_conv" / "im2col_cython.pyx").read_bytes() for s in names}
        print(f"built in {time.perf_counter() - start:.0f} s; {len(pyx)} distinct im2col_cython.pyx", flush=True)
        changed: list[str] = []  # graded copies whose submitted/ changed (none may)

        fast = None
        for workers in args.workers:
            copy = copy_course(course, scratch / f"fast-{workers}")
            cache = prepared_cache(scratch / f"cache-{workers}")
            before = tree_digest(copy / "submitted")
            run = grade(copy, cache, "--workers", str(workers))
            changed += [copy.name] if tree_digest(copy / "submitted") != before else []
            report(f"default (submitted outputs kept), --workers {workers}", run, args.students, copy)
            builds = [p for p in (cache / "cs-conv-autograder" / "builds").glob("*/*")
                      if p.is_dir() and p.parent.name != "shared"]  # not Cython's shared utility module
            print(f"  Cython builds in the cache: {len(builds)} for {len(pyx)} distinct .pyx")
            fast = fast or (copy, cache, workers)

        copy, cache, workers = fast
        again = grade(copy, cache, "--workers", str(workers))
        summary = next((line for line in again["output"].splitlines() if line.startswith("autograded ")), "")
        print(f"\nregrade with nothing changed: {again['seconds']:.1f} s ({summary.strip()})")
        if again["timings"]["students"]:
            print("  (some were graded again: the grader's own files changed since the first run)")

        if args.check_students:
            keep = names[:args.check_students]
            full = copy_course(course, scratch / "full", keep)
            before = tree_digest(full / "submitted")
            run = grade(full, prepared_cache(scratch / "cache-full"), "--execute", "--force", "--workers", "1")
            changed += [full.name] if tree_digest(full / "submitted") != before else []
            report("--execute --force --workers 1 (every notebook re-run, serial)", run, len(keep), full)
            fast_grades = {key: value for key, value in cell_grades(copy).items() if key[0] in keep}
            full_grades = cell_grades(full)
            differ = sorted(key for key in fast_grades.keys() | full_grades.keys()
                            if fast_grades.get(key) != full_grades.get(key))
            identical = not differ and len(fast_grades) > 0
            print(f"  grades of {len(keep)} students, {len(fast_grades)} grade cells: "
                  f"{'identical to the fast path' if identical else 'DIFFERENT'}")
            for key in differ[:10]:
                print(f"    {key}: fast {fast_grades.get(key)}, --execute {full_grades.get(key)}")
        print(f"submitted/ unchanged by grading: {'yes' if not changed else 'NO, in ' + ', '.join(changed)}")
        return 0 if identical and not changed else 1
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
