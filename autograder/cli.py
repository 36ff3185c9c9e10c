"""``python -m autograder grade PATH``, ``python -m autograder grade-all DIR`` and ``python -m autograder prepare``.

``grade`` exits 0 whenever grading itself worked, whatever the score; 1 when the
grader failed (the report says why); 2 for bad arguments. See ``autograder.report``
for the JSON it writes. ``serve`` is grade-all's worker: it reads one JSON request
per line on stdin (``{"path": ..., "out": ..., "seed": ...}``), writes that submission's JSON
report to ``out`` and answers one line on stdout (``{"ok": true}``, or
``{"error": ...}`` when the grader itself failed).

``prepare`` builds ahead what every grading shares, Cython's utility module
(``autograder.build.shared_library``), into the build cache; grading builds it on first use
otherwise. The Gradescope image's ``setup.sh`` runs it, so no submission pays for it.

Each run draws a secret seed for every case's inputs (``grade-all`` one for all its
submissions) and writes it to stderr only, never into a report; ``--seed`` repeats a run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from autograder import catalog, points
from autograder.build import default_cache_dir, shared_library
from autograder.cases import SEED_BITS, new_run_seed, seed_line
from autograder.grade import Settings, grade
from autograder.limits import Limits, parse_size
from autograder.points import TaskPoints
from autograder.report import FORMATS, render
from autograder.sandbox import SANDBOX_UIDS, Sandbox, default_identity


def _seed(text: str) -> int:
    seed = int(text)
    if not 0 <= seed < 1 << SEED_BITS:
        raise argparse.ArgumentTypeError(f"a seed is a whole number from 0 to 2**{SEED_BITS} - 1")
    return seed


def _seed_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=_seed, metavar="N",
                        help="the run's seed for every case's inputs, to repeat a run (default: a fresh secret "
                             "one, written to stderr)")


def _limit_options(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    group = parser.add_argument_group("limits")
    group.add_argument("--case-timeout", type=float, default=defaults.case_seconds, metavar="S",
                       help="the student's time per case, over all its calls, seconds (default %(default)s)")
    group.add_argument("--submission-timeout", type=float, default=defaults.submission_seconds, metavar="S",
                       help="wall clock for a full grade of one submission, build included; --only gets a "
                            "share of it (default %(default)s)")
    group.add_argument("--build-timeout", type=float, default=defaults.build_seconds, metavar="S",
                       help="wall clock for compiling im2col_cython.pyx (default %(default)s)")
    group.add_argument("--memory", type=parse_size, default=defaults.memory_bytes, metavar="SIZE",
                       help="address space of each student process, e.g. 2G (default 2G)")
    group.add_argument("--processes", type=int, default=defaults.processes, metavar="N",
                       help="processes and threads a sandbox may hold (default %(default)s)")
    group.add_argument("--output-limit", type=parse_size, default=defaults.output_max_bytes, metavar="SIZE",
                       help="output a student process may print before it is stopped (default 8M)")
    group.add_argument("--file-size", type=parse_size, default=defaults.file_bytes, metavar="SIZE",
                       help="largest file a student process may write, in its private /tmp (default 64M)")
    parser.add_argument("--points", type=Path, metavar="FILE",
                        help="JSON table of each task's points in the notebooks ({function: {\"task\": "
                             "\"Notebook 02, task 2.1\", \"points\": 6}}, as in the Gradescope bundle's "
                             "points.json): scores are then the notebooks' points (default: each case's own points)")
    parser.add_argument("--only", metavar="PATTERNS",
                        help="comma-separated functions (fnmatch patterns) to grade, e.g. conv_*_naive")
    parser.add_argument("--cache", type=Path, default=default_cache_dir(), metavar="DIR",
                        help="build cache folder (default %(default)s)")
    parser.add_argument("--no-namespaces", action="store_true",
                        help="do not use Linux namespaces even where they work (weaker isolation)")
    parser.add_argument("--insecure", action="store_true", default=os.environ.get("CS_CONV_INSECURE") == "1",
                        help="grade even where student code cannot be isolated from the grader's files "
                             "(not root, or no namespaces and readable grader files); reports say so "
                             "(default: on when CS_CONV_INSECURE=1)")


def _only(args: argparse.Namespace) -> list[str] | None:
    """``--only``'s patterns; None to grade every function."""
    return [p.strip() for p in args.only.split(",") if p.strip()] if args.only else None


def _settings(args: argparse.Namespace) -> Settings:
    limits = Limits(case_seconds=args.case_timeout, submission_seconds=args.submission_timeout,
                    build_seconds=args.build_timeout, memory_bytes=args.memory, processes=args.processes,
                    output_max_bytes=args.output_limit, file_bytes=args.file_size)
    return Settings(limits=limits, cache_dir=args.cache, only=_only(args), uid=getattr(args, "uid", None),
                    namespaces=False if args.no_namespaces else None, insecure=args.insecure)


def _forwarded(args: argparse.Namespace) -> list[str]:
    """The options grade-all passes on to each ``grade`` it runs."""
    options = ["--case-timeout", str(args.case_timeout), "--submission-timeout", str(args.submission_timeout),
               "--build-timeout", str(args.build_timeout), "--memory", str(args.memory),
               "--processes", str(args.processes), "--output-limit", str(args.output_limit),
               "--file-size", str(args.file_size), "--cache", str(args.cache)]
    if args.only:
        options += ["--only", args.only]
    if args.points:
        options += ["--points", str(args.points.resolve())]
    if args.no_namespaces:
        options.append("--no-namespaces")
    if args.insecure:
        options.append("--insecure")
    return options


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m autograder", description="The cs_conv autograder.")
    commands = main.add_subparsers(dest="command", required=True)

    one = commands.add_parser("grade", help="grade one submission folder (it holds cs_conv/)")
    one.add_argument("path", type=Path)
    one.add_argument("--format", choices=FORMATS, default="text")
    one.add_argument("--out", type=Path, help="write the report here instead of to stdout")
    _seed_option(one)
    one.add_argument("--uid", type=int, help="user id sandboxes run as when grading as root (default: a free "
                     f"one of {SANDBOX_UIDS.start}-{SANDBOX_UIDS.stop - 1}, held for the run)")
    _limit_options(one)

    many = commands.add_parser("grade-all", help="grade every submission folder under DIR")
    many.add_argument("dir", type=Path)
    many.add_argument("--workers", type=int, default=1, metavar="N")
    many.add_argument("--csv", type=Path, required=True, metavar="FILE")
    many.add_argument("--json-dir", type=Path, metavar="DIR", help="also keep each student's JSON report here")
    _seed_option(many)
    _limit_options(many)

    worker = commands.add_parser("serve", help="grade-all's worker: grade submissions named on stdin")
    _limit_options(worker)

    prepare = commands.add_parser("prepare", help="build Cython's utility module, which every build of a "
                                  "submission's .pyx shares, into the build cache ahead of grading")
    prepare.add_argument("--cache", type=Path, default=default_cache_dir(), metavar="DIR",
                         help="build cache folder (default %(default)s)")
    return main


def _points(args: argparse.Namespace) -> dict[str, TaskPoints]:
    """The points table ``--points`` names (empty without one); every task graded must be in it."""
    if args.points is None:
        return {}
    table = points.load(args.points)
    graded = catalog.select(_only(args))
    missing = [f"{check.function} (task {check.task})" for check in graded if check.task not in table]
    if missing:
        raise points.PointsError(f"the points table {args.points} gives no points for {', '.join(missing)}")
    return table


def serve(args: argparse.Namespace, table: dict[str, TaskPoints]) -> int:
    """Grade one submission per request line, reusing the sandbox (and its user) across them; scores in
    the points of ``table`` (``--points``)."""
    settings = _settings(args)
    sandbox = Sandbox(settings.limits, default_identity(settings.uid), settings.namespaces, settings.insecure)
    for line in sys.stdin:
        try:
            request = json.loads(line)
            graded = grade(Path(request["path"]), dataclasses.replace(settings, seed=request["seed"]), sandbox=sandbox)
            report = dataclasses.replace(graded, points=table)
            Path(request["out"]).write_text(render(report, "json"))
            answer: dict[str, object] = {"ok": True}
        except Exception as error:  # a grader fault on one submission must not end the worker
            answer = {"error": f"{type(error).__name__}: {error}"[:500]}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "prepare":
        library = shared_library(args.cache)
        if library is None:
            print("error: Cython's utility module could not be built here; each build will carry its own copy",
                  file=sys.stderr)
            return 1
        print(f"Cython's utility module, shared by every build: {library}")
        return 0
    try:
        catalog.select(_only(args))
        table = _points(args)
    except ValueError as error:  # PointsError too
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return serve(args, table)
    seed = new_run_seed() if args.seed is None else args.seed
    if args.command == "grade":
        if not args.path.is_dir():
            print(f"error: {args.path} is not a folder", file=sys.stderr)
            return 2
        print(seed_line(seed), file=sys.stderr)
        report = dataclasses.replace(grade(args.path, dataclasses.replace(_settings(args), seed=seed)), points=table)
        text = render(report, args.format)
        if args.out:
            args.out.write_text(text)
        else:
            sys.stdout.write(text)
        if report.error:
            print(f"error: grading failed: {report.error}", file=sys.stderr)
            return 1
        return 0
    if not args.dir.is_dir():
        print(f"error: {args.dir} is not a folder", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    from autograder.grade_all import grade_all  # only here: it brings tqdm, which grade does not need

    limits = _settings(args).limits
    timeout = limits.submission_seconds + limits.build_seconds + 60
    outcomes = grade_all(args.dir, args.workers, args.csv, _forwarded(args), timeout, args.json_dir, seed)
    failed = [o.student for o in outcomes if o.error]
    print(f"graded {len(outcomes) - len(failed)} of {len(outcomes)} submissions; CSV in {args.csv}"
          + (f"; could not grade: {', '.join(failed)}" if failed else "")
          + f"; {seed_line(seed)}", file=sys.stderr)
    return 0
