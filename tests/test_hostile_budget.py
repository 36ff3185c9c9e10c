"""Hostile submissions against the grader's secrets and clocks: secret seeds, median speed, one budget.

Each test plants an attack in the solved sources, as a student would, and checks
that it gains nothing: answers worked out ahead of time (from seeds a student could
predict) or remembered from an earlier repeat fail the speed case; the run's seed
appears in no report a student sees, only in the instructor's stderr, and repeats
the run exactly; a submission that loops forever in every function, ignoring
SIGTERM, finishes within its budget with every case reported; one runaway function
costs only its own points. Budgets are asserted by counting what was reported, with
a generous margin on the elapsed time as a containment bound, never as a speed claim.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

from autograder_helpers import REPO, TEST_LIMITS, by_function, copy_solved, messages
from test_autograder_hostile import processes_of

from autograder import catalog
from autograder.cases import case_seed
from autograder.checks import speed
from autograder.grade import Settings, budget_seconds, grade
from autograder.limits import Limits
from autograder.report import FORMATS, render
from autograder.results import Report

SPEED = "max_pool_forward_fast"
SPEED_TITLE = f"{SPEED}: {speed.NAME}"
FAST_POOL = "def max_pool_forward_fast(x, pool_param):\n"
RELU = "def relu_forward(x):\n"
# A seed whose digits cannot turn up in a report by accident.
SEED = 2**63 + 1_234_567


def graded_with_seed(submission: Path, seed: int, only: list[str], cache: Path, sandbox) -> Report:
    settings = Settings(limits=TEST_LIMITS, cache_dir=cache, only=only, seed=seed)
    return grade(submission, settings, sandbox=sandbox)


def speed_result(report: Report):
    (result,) = [r for r in report.results if r.name == SPEED_TITLE]
    return result


# ---------------------------------------------------------------- answers worked out ahead of time


def answer_table_attack(rng_seed: int) -> list[tuple[str, str, str]]:
    """A loop layer that answers instantly for the inputs it expects, from a table built at import.

    ``rng_seed`` is the attacker's guess of the speed case's generator seed: the
    grader's old ``crc32(title) % 100000``, or the real one if the student knew the run seed.
    """
    attack = f'''import hashlib as _hashlib

from cs_conv.layers import max_pool_forward_naive as _loops


def _digest(x):
    return _hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()


def _table():
    rng = np.random.default_rng({rng_seed})
    table = {{}}
    for _ in range({speed.WARMUPS + speed.REPEATS}):
        x = rng.standard_normal({speed.POOL_X})
        table[_digest(x)] = _loops(x, {speed.POOL_PARAM!r})[0]
    return table


_TABLE = _table()


def max_pool_forward_fast(x, pool_param):
    known = _TABLE.get(_digest(x))
    if known is not None:
        return known, (x, pool_param)
    return _loops(x, pool_param)


def _replaced_max_pool_forward_fast(x, pool_param):
'''
    return [("fast_layers.py", FAST_POOL, attack)]


def test_an_answer_table_for_predicted_inputs_fails_the_speed_case(make_submission, grader_cache, sandbox):
    # The attack that beat the old grader: its seeds were crc32(title) % 100000, known to anyone.
    old_seed = zlib.crc32(SPEED_TITLE.encode()) % 100_000
    report = graded_with_seed(make_submission(answer_table_attack(old_seed)), SEED, [SPEED], grader_cache, sandbox)
    result = speed_result(report)
    assert result.score == 0, "a table of answers for guessed inputs made loops pass as fast"
    assert "not at least 5x faster" in result.message
    # The loops are right, so every case but speed keeps its points: only the cheat is lost.
    assert report.score == report.max_score - result.max_score, [r.message for r in report.results if r.message]


def test_the_table_works_only_for_whoever_knows_the_run_seed(make_submission, grader_cache, sandbox):
    # The control for the test above: the same table built from the real inputs passes, so
    # it is the seed's secrecy, not a flaw in the attack, that stops it.
    submission = make_submission(answer_table_attack(case_seed(SEED, SPEED_TITLE)))
    knows = speed_result(graded_with_seed(submission, SEED, [SPEED], grader_cache, sandbox))
    guesses = speed_result(graded_with_seed(submission, SEED + 1, [SPEED], grader_cache, sandbox))
    assert knows.passed, knows.message
    assert not guesses.passed and "not at least 5x faster" in guesses.message


def test_remembering_the_previous_answer_fails_the_speed_case(make_submission, grader_cache, sandbox):
    # Fast and right the first time, then the same answer again for any input of that shape:
    # the best repeat would be instant, but every repeat's answer is judged on fresh inputs.
    memo = '''_previous = {}


def max_pool_forward_fast(x, pool_param):
    key = (x.shape, x.dtype.str)
    if key not in _previous:
        _previous[key] = _honest_max_pool_forward_fast(x, pool_param)[0]
    return _previous[key], (x, pool_param)


def _honest_max_pool_forward_fast(x, pool_param):
'''
    report = graded_with_seed(make_submission([("fast_layers.py", FAST_POOL, memo)]), SEED, [SPEED], grader_cache,
                              sandbox)
    result = speed_result(report)
    assert result.score == 0 and "out relative error" in result.message, result.message
    # Every other case sees a shape once, so the memo answers it honestly.
    assert report.score == report.max_score - result.max_score, [r.message for r in report.results if r.message]


def test_being_fast_on_a_minority_of_repeats_is_not_enough(make_submission, grader_cache, sandbox):
    # Fast on the warm-up and on two of the five timed repeats of a shape (as if those answers
    # had been worked out beforehand), loops on the rest: the best timed repeat would pass; the
    # median is judged, and fails.
    fast_calls = speed.WARMUPS + speed.REPEATS // 2
    once = f'''_calls = {{}}


def max_pool_forward_fast(x, pool_param):
    _calls[x.shape] = _calls.get(x.shape, 0) + 1
    if _calls[x.shape] > {fast_calls}:
        from cs_conv.layers import max_pool_forward_naive
        return max_pool_forward_naive(x, pool_param)
    return _honest_max_pool_forward_fast(x, pool_param)


def _honest_max_pool_forward_fast(x, pool_param):
'''
    report = graded_with_seed(make_submission([("fast_layers.py", FAST_POOL, once)]), SEED, [SPEED], grader_cache,
                              sandbox)
    result = speed_result(report)
    assert result.score == 0 and "not at least 5x faster" in result.message and "median" in result.message
    assert report.score == report.max_score - result.max_score, [r.message for r in report.results if r.message]


# ---------------------------------------------------------------- the seed stays with the instructor

LEAK_INPUTS = [("layers.py", RELU, RELU + "    raise ValueError('input sum %r' % float(np.asarray(x).sum()))\n")]


def outputs(document: dict) -> dict[str, str]:
    return {test["name"]: test["output"] for test in document["tests"]}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_the_seed_is_in_no_report_a_student_sees(make_submission, grader_cache, sandbox):
    report = graded_with_seed(make_submission(LEAK_INPUTS), SEED, ["relu_forward", "adam"], grader_cache, sandbox)
    assert any("input sum" in m for m in messages(report, "relu_forward"))
    for fmt in FORMATS:
        shown = render(report, fmt)
        assert str(SEED) not in shown and "seed" not in shown.lower(), fmt
        for result in report.results:
            assert str(case_seed(SEED, result.name)) not in shown, (fmt, result.name)


def test_the_logged_seed_repeats_a_run_and_another_seed_changes_the_inputs(make_submission, grader_cache):
    submission = make_submission(LEAK_INPUTS)
    common = ["grade", str(submission), "--format", "gradescope", "--only", "relu_forward",
              "--cache", str(grader_cache)]
    first = run_cli(*common)
    assert first.returncode == 0, first.stderr
    logged = re.search(r"run seed (\d+) \(repeat these inputs with --seed \1\)", first.stderr)
    assert logged, first.stderr
    assert logged.group(1) not in first.stdout
    again = run_cli(*common, "--seed", logged.group(1))
    other = run_cli(*common, "--seed", str(int(logged.group(1)) ^ 1))
    first_out, again_out, other_out = (outputs(json.loads(run.stdout)) for run in (first, again, other))
    assert again_out == first_out  # the instructor's log reproduces the run
    fixed = "relu_forward: exact zeros"  # the lecture's hand-computed case teaches and stays put
    assert other_out[fixed] == first_out[fixed]
    random_cases = [name for name in first_out if name != fixed]
    assert random_cases and all(other_out[name] != first_out[name] for name in random_cases)
    assert all("input sum" in text for text in first_out.values())


def test_grade_all_shares_one_secret_seed_and_logs_it_only_for_the_instructor(make_submission, grader_cache,
                                                                              tmp_path):
    folder = tmp_path / "submitted"
    leaky = make_submission(LEAK_INPUTS)
    for student in ("ann", "ben"):
        shutil.copytree(leaky, folder / student)
    table, reports = tmp_path / "grades.csv", tmp_path / "json"
    result = run_cli("grade-all", str(folder), "--workers", "2", "--csv", str(table), "--json-dir", str(reports),
                     "--only", "relu_forward", "--cache", str(grader_cache), "--seed", str(SEED))
    assert result.returncode == 0, result.stderr
    assert f"run seed {SEED}" in result.stderr
    rows = list(csv.DictReader(table.open()))
    by_student = {s: {r["test"]: r["output"] for r in rows if r["student"] == s and r["test"] != "TOTAL"}
                  for s in ("ann", "ben")}
    assert by_student["ann"] == by_student["ben"]  # the same inputs for every submission of the run
    assert all("input sum" in text for text in by_student["ann"].values())
    written = table.read_text() + "".join(p.read_text() for p in reports.iterdir())
    assert str(SEED) not in written


# ---------------------------------------------------------------- one budget per submission

ALL_LOOP_LIMITS = dataclasses.replace(TEST_LIMITS, case_seconds=2.0, import_seconds=4.0, submission_seconds=40.0,
                                      setup_seconds=20.0)
IGNORE_SIGTERM_AND_LOOP = ("import signal", "signal.signal(signal.SIGTERM, signal.SIG_IGN)", "while True:",
                           "    pass")


def loop_in_every_function(folder: Path) -> Path:
    """The solved kit with an endless loop first in every student function, each ignoring SIGTERM.

    The Cython kernels get a bare C loop: they run without the GIL, where only SIGKILL ends them.
    """
    submission = copy_solved(folder)
    for path in sorted((submission / "cs_conv").rglob("*")):
        if path.suffix in (".py", ".pyx"):
            lines = IGNORE_SIGTERM_AND_LOOP if path.suffix == ".py" else IGNORE_SIGTERM_AND_LOOP[2:]
            path.write_text(re.sub(r"^([ \t]*)### BEGIN SOLUTION\n", _then(lines), path.read_text(),
                                   flags=re.MULTILINE))
    return submission


def _then(lines: tuple[str, ...]):
    """A ``re.sub`` replacement that keeps the matched line and adds ``lines`` at its indentation."""
    return lambda match: match.group(0) + "".join(f"{match.group(1)}{line}\n" for line in lines)


def test_the_budget_scales_with_the_selection():
    limits = Limits()
    assert budget_seconds(limits, catalog.CATALOG) == limits.submission_seconds == 180
    one = budget_seconds(limits, catalog.select(["relu_forward"]))
    few = budget_seconds(limits, catalog.select(["relu_*", "conv_*_naive"]))
    assert limits.setup_seconds <= one < few < limits.submission_seconds
    assert one >= limits.import_seconds + limits.case_seconds  # room for one runaway function's time-out


def test_looping_in_every_function_while_ignoring_sigterm_ends_within_the_budget(grade_with, tmp_path):
    uid = 64903
    report = grade_with(loop_in_every_function(tmp_path / "loops"), limits=ALL_LOOP_LIMITS, uid=uid)
    budget = budget_seconds(ALL_LOOP_LIMITS, catalog.CATALOG)
    assert report.error is None, report.error
    assert [r.name for r in report.results] == [case.title for check in catalog.CATALOG for case in check.cases]
    assert report.score == 0
    used_up = f"the submission's time budget ({budget:g} s) was used up"
    # A backward case whose forward pass timed out may find the budget used up while its fresh process
    # imports the module again ("timed out while importing cs_conv.layers (...used up)").
    allowed = ("timed out (limit 2 s)", f"({used_up})", "timed out in an earlier case",
               f"not run: {used_up}", "did not compile")  # the build, if a loaded machine made it outlast the budget
    assert all(any(a in r.message for a in allowed) for r in report.results), \
        {r.name: r.message for r in report.results if not any(a in r.message for a in allowed)}
    timed_out = [r for r in report.results if r.message.startswith("timed out")]
    # A runaway function costs one time-out: every other case of it is not run.
    assert all(sum(r.function == f for r in timed_out) <= 1 for f in by_function(report))
    # Each time-out of the case limit took at least its 2 s, and 28 of them would not fit in 40 s:
    # the budget, not the looping code, decided when grading stopped.
    assert len([r for r in timed_out if "limit 2 s" in r.message]) <= budget / ALL_LOOP_LIMITS.case_seconds
    assert sum(r.message == f"not run: {used_up}" for r in report.results) > 0
    assert report.seconds < budget + 60  # containment: the budget plus a generous allowance for stopping
    assert processes_of(uid) == []  # SIGKILL ended every loop (as root; nothing of the uid runs otherwise)


def test_one_runaway_function_costs_only_its_own_points(make_submission, grade_with):
    # avg_pool_backward_naive: nothing else in the kit calls it, so its loop hurts no other function.
    runaway = "def avg_pool_backward_naive(dout, cache):\n"
    loop = "".join(f"    {line}\n" for line in IGNORE_SIGTERM_AND_LOOP)
    report = grade_with(make_submission([("layers.py", runaway, runaway + loop)]))
    assert report.error is None, report.error
    totals = by_function(report)
    assert totals.pop("avg_pool_backward_naive")[0] == 0
    assert all(score == top for score, top in totals.values()), \
        {f: t for f, t in totals.items() if t[0] != t[1]}
    lost = messages(report, "avg_pool_backward_naive")
    assert lost[0].startswith(f"timed out (limit {TEST_LIMITS.case_seconds:g} s) (judged on the cache your "
                              "avg_pool_forward_naive returned) [x (1, 1, 4, 4), pool_param ")
    assert lost[1:] and all(m == "not run: avg_pool_backward_naive timed out in an earlier case" for m in lost[1:])
    assert report.seconds < budget_seconds(TEST_LIMITS, catalog.CATALOG) + 60
