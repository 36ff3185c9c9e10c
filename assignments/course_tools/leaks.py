"""Scan a student release for anything that must not be in it.

``find_leaks(release, source)`` scans a release folder, ``LeakScan(source).contents(name, data)`` one
file's bytes before they are written (``course_tools.release`` scans each notebook so while nbgrader
generates it); both return one line per finding (empty: clean):

- grader files: an ``autograder`` folder, or any file whose bytes equal a file of ``autograder/``;
- nbgrader delimiter lines (solution fences, hidden tests, mark schemes) in any text file;
- solution text: a line from inside a solution fence of the solved ``cs_conv`` (``course_tools.fences``;
  at least 20 characters, not a comment, and not also found outside the fences) anywhere in the release;
- grader source: a line of ``autograder/*.py`` (at least 40 characters) anywhere in the release;
- the model answers of the notebooks' free-response cells;
- build products and caches (``.so``, Cython's ``.c``, ``__pycache__``), and outputs left in notebooks.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from course_tools.fences import solution_lines
from course_tools.paths import GRADER, REPO, SOLVED

DELIMITERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
              "BEGIN MARK SCHEME", "END MARK SCHEME")
BUILD_PRODUCTS = {".so", ".pyd", ".pyc", ".o", ".html"}
TEXT_SUFFIXES = {".py", ".pyx", ".pxd", ".ipynb", ".md", ".txt", ".toml", ".cfg", ".json", ".sh", ".c"}


def fenced_lines(package: Path) -> set[str]:
    """The solution lines of ``package`` long enough to be told from ordinary code, comments left out."""
    return {line for line in solution_lines(package) if len(line) >= 20 and not line.startswith("#")}


def grader_lines(grader: Path, package: Path) -> set[str]:
    """Long lines of the grader's Python source that the student package does not share."""
    package_text = set()
    for path in package.rglob("*.py"):
        package_text.update(line.strip() for line in path.read_text().splitlines())
    lines = set()
    for path in grader.rglob("*.py"):
        lines.update(line.strip() for line in path.read_text().splitlines() if len(line.strip()) >= 40)
    return {line for line in lines - package_text if not line.startswith(("#", '"""', "from ", "import "))}


def model_answers(source: Path) -> list[tuple[str, str]]:
    """(notebook, opening words) of every manually graded answer cell in the source notebooks."""
    answers = []
    for path in sorted(source.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution") and cell["cell_type"] == "markdown":
                text = "".join(cell["source"]).strip()
                if text:
                    answers.append((path.name, text[:80]))
    return answers


def _notebook_text(text: str) -> tuple[str, list[str]]:
    """A notebook's cell sources joined, and a finding for every code cell that kept outputs."""
    nb = json.loads(text)
    sources, findings = [], []
    for index, cell in enumerate(nb.get("cells", [])):
        sources.append("".join(cell.get("source", "")))
        if cell.get("outputs"):
            findings.append(f"cell {index} has outputs")
    return "\n".join(sources), findings


class LeakScan:
    """What a release must not contain, read once from the solved kit, the grader and the source notebooks.

    ``folder`` scans every file under a release folder, ``contents`` the bytes of one file.
    """

    def __init__(self, source: Path):
        self.grader_digests = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in GRADER.rglob("*") if p.is_file()}
        self.solutions = fenced_lines(SOLVED)
        self.grader_source = grader_lines(GRADER, SOLVED)
        self.answers = model_answers(source)

    def folder(self, release: Path) -> list[str]:
        release = Path(release)
        findings = []
        for path in sorted(release.rglob("*")):
            name = str(path.relative_to(release))
            if path.is_symlink():
                findings.append(f"{name}: a symbolic link")
            elif path.is_dir():
                if path.name in {"autograder", "__pycache__", "build"}:
                    findings.append(f"{name}/: a {path.name} folder")
            else:
                if path.suffix in BUILD_PRODUCTS or (path.suffix == ".c" and path.with_suffix(".pyx").exists()):
                    findings.append(f"{name}: a build product")
                findings += self.contents(name, path.read_bytes())
        return findings

    def contents(self, name: str, data: bytes) -> list[str]:
        """Findings in one file's bytes: grader copies, and in text files delimiters, solutions, grader source."""
        findings = []
        digest = hashlib.sha256(data).hexdigest()
        if digest in self.grader_digests:
            findings.append(f"{name}: identical to {self.grader_digests[digest].relative_to(REPO)}")
        if Path(name).suffix not in TEXT_SUFFIXES:
            return findings
        try:
            text = data.decode()
        except UnicodeDecodeError:
            return findings
        if name.endswith(".ipynb"):
            text, notebook_findings = _notebook_text(text)
            findings += [f"{name}: {finding}" for finding in notebook_findings]
            for notebook, opening in self.answers:
                if opening in text:
                    findings.append(f"{name}: the model answer of {notebook} ({opening[:40]!r}...)")
        lines = {line.strip() for line in text.splitlines()}
        for line in lines:
            # A delimiter line (``### BEGIN SOLUTION``), not a sentence that mentions one.
            if line.startswith(("###", "===")) and any(d in line for d in DELIMITERS):
                findings.append(f"{name}: delimiter line {line[:50]!r}")
        for line in sorted(lines & self.solutions):
            findings.append(f"{name}: solution line {line[:70]!r}")
        for line in sorted(lines & self.grader_source):
            findings.append(f"{name}: grader line {line[:70]!r}")
        return findings


def find_leaks(release: Path, source: Path) -> list[str]:
    """Every finding in the release folder ``release`` made from the source notebooks in ``source``."""
    return LeakScan(source).folder(release)
