"""The release's collect_submission.py: the upload zip, and the written answers as a PDF (or HTML to print)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "assignments" / "course_tools" / "release_files" / "collect_submission.py"
SOURCE = REPO / "assignments" / "source" / "cnn"
ANSWER = "My own words: the Jacobian is never built because it is mostly zeros."


def load():
    spec = importlib.util.spec_from_file_location("collect_submission", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def student(tmp_path: Path) -> Path:
    """An assignment folder: the notebooks (one written answer filled in), cs_conv/, the script."""
    folder = tmp_path / "cnn"
    folder.mkdir()
    for path in sorted(SOURCE.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if path.name.startswith("01"):
            answer = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                          and c.cell_type == "markdown")
            answer.source = ANSWER
        nbformat.write(nb, folder / path.name)
    (folder / "cs_conv").mkdir()
    (folder / "cs_conv" / "layers.py").write_text("def relu_forward(x):\n    return x\n")
    shutil.copy(SCRIPT, folder / SCRIPT.name)
    return folder


def run(folder: Path, *args: str, path: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT.name, *args], cwd=folder, capture_output=True, text=True,
                          timeout=600, env={"PATH": path, "HOME": str(folder)})


def test_without_a_browser_the_written_answers_are_an_html_page_that_needs_no_network(student):
    proc = run(student, path=str(Path(sys.executable).parent))  # no Chrome or Chromium on this PATH
    assert proc.returncode == 0, proc.stderr
    page = (student / "cnn_written_answers.html").read_text()
    assert "Save as PDF" in proc.stdout and not (student / "cnn_written_answers.pdf").exists()
    assert ANSWER in page
    headings = [page.find(f'<h1 id="{path.name}"') for path in sorted(SOURCE.glob("*.ipynb"))]
    assert len(headings) == 5 and -1 not in headings and headings == sorted(headings), "every notebook, in order"
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert any("MathJax.js" in src for src in sources), "math is typeset by the MathJax Jupyter installed"
    assert not [src for src in sources if src.startswith(("http:", "https:", "//"))], sources
    with zipfile.ZipFile(student / "cnn_submission.zip") as archive:
        assert not [name for name in archive.namelist() if "written_answers" in name], "graded files only"


def test_a_browser_found_on_the_path_prints_the_pdf(student, tmp_path):
    # A stand-in Chromium that records how it was called and prints a one-line "PDF".
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    stand_in = bin_dir / "chromium"
    stand_in.write_text(f"#!{sys.executable}\nimport sys\nopen({str(calls)!r}, 'w').write(' '.join(sys.argv))\n"
                        "out = next(a for a in sys.argv if a.startswith('--print-to-pdf='))\n"
                        "open(out.split('=', 1)[1], 'wb').write(b'%PDF-1.4 stand-in')\n")
    stand_in.chmod(0o755)
    proc = run(student, path=f"{bin_dir}:{Path(sys.executable).parent}")
    assert proc.returncode == 0, proc.stderr
    assert (student / "cnn_written_answers.pdf").read_bytes().startswith(b"%PDF-")
    assert not (student / "cnn_written_answers.html").exists()
    called = calls.read_text()
    assert "--headless" in called and "file://" in called and "cnn_written_answers.html" in called
    assert "PDF assignment" in proc.stdout


def test_no_pdf_writes_the_zip_alone(student):
    proc = run(student, "--no-pdf", path=str(Path(sys.executable).parent))
    assert proc.returncode == 0, proc.stderr
    assert (student / "cnn_submission.zip").is_file()
    assert not list(student.glob("cnn_written_answers.*"))


@pytest.mark.slow
@pytest.mark.skipif(load().browser() is None, reason="no Chrome or Chromium here to print with")
def test_a_real_chromium_prints_every_notebook_offline(student):
    pdf = load().written_answers(student)
    data = pdf.read_bytes()
    assert pdf.suffix == ".pdf" and data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 5, "more pages than notebooks"
