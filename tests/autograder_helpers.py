"""Plain helpers for the autograder tests: submissions made from the solved sources, and report digests.

Imported by name; the fixtures built on them are in ``conftest.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.limits import Limits
from autograder.results import Report

REPO = Path(__file__).resolve().parent.parent
SOLVED = REPO / "cs_conv"
SOURCE_SUFFIXES = {".py", ".pyx"}
# Short enough that hostile cases (infinite loops, floods) cost little; long enough for honest code.
TEST_LIMITS = Limits(case_seconds=8.0, import_seconds=8.0, submission_seconds=240.0)

Patch = tuple[str, str, str]  # (file under cs_conv/, old text, new text)


def copy_solved(dest: Path) -> Path:
    """A submission folder holding the solved cs_conv sources (no compiled files)."""
    package = dest / "cs_conv"
    for source in SOLVED.rglob("*"):
        relative = source.relative_to(SOLVED)
        if source.is_file() and source.suffix in SOURCE_SUFFIXES and "__pycache__" not in relative.parts:
            target = package / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return dest


def apply_patches(submission: Path, patches: list[Patch]) -> Path:
    """Edit the submission's files in place; every ``old`` must occur, so a stale patch fails loudly."""
    for name, old, new in patches:
        path = submission / "cs_conv" / name
        text = path.read_text()
        if old not in text:
            raise ValueError(f"patch does not apply to {name}: {old!r}")
        path.write_text(text.replace(old, new))
    return submission


def by_function(report: Report) -> dict[str, tuple[float, float]]:
    """``{function: (score, max_score)}``."""
    totals: dict[str, tuple[float, float]] = {}
    for result in report.results:
        score, top = totals.get(result.function, (0.0, 0.0))
        totals[result.function] = (score + result.score, top + result.max_score)
    return totals


def messages(report: Report, function: str) -> list[str]:
    return [r.message for r in report.results if r.function == function and r.message]


def processes_of(uid: int) -> list[int]:
    """The pids of every process ``uid`` runs now (to show a sandbox left nothing behind)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        if any(line.startswith("Uid:") and line.split()[1] == str(uid) for line in lines):
            found.append(int(status.parent.name))
    return found


def assert_contained(report: Report, reason: str, keep: str = "adam", lose: str = "relu_forward") -> list[str]:
    """An attack on ``lose`` scored zero with ``reason`` in a short message, and ``keep`` kept every point."""
    assert report.error is None, report.error
    totals = by_function(report)
    assert totals[lose][0] == 0, f"{lose} scored {totals[lose]}"
    assert totals[keep][0] == totals[keep][1], messages(report, keep)
    found = messages(report, lose)
    assert any(reason in m for m in found), found
    assert all(len(m) < 600 for m in found)
    return found
