"""Pack your work to upload: ``python collect_submission.py``.

Run it in this folder after you have saved every notebook. It writes two files here:

- ``cnn_submission.zip``, holding exactly what is graded by the autograder: the notebooks
  (``*.ipynb``), ``cs_conv/**/*.py`` and ``cs_conv/im2col_cython.pyx``, at the top of the zip as
  they sit in this folder. Your virtual environment, build products and data stay out. Upload
  the zip as it is (Gradescope, or your course's learning platform); do not unpack or rename
  what is inside.
- ``cnn_written_answers.pdf``, every notebook in order as you saved it, for the person who grades
  your written answers (on Gradescope, the course's PDF assignment). It is printed by a Chrome or
  Chromium on this computer, with no network needed. Without one, you get
  ``cnn_written_answers.html`` instead: open it in your browser, print it, and choose "Save as PDF".

``--no-pdf`` writes the zip alone.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ZIP_NAME = "cnn_submission.zip"
WRITTEN = "cnn_written_answers"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "msedge")
MAC_BROWSERS = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                "/Applications/Chromium.app/Contents/MacOS/Chromium")
PATTERNS = ("*.ipynb", "cs_conv/**/*.py", "cs_conv/*.pyx")
SKIPPED_PARTS = {".ipynb_checkpoints", "__pycache__"}


def submission_files(folder: Path = HERE) -> list[Path]:
    """The graded files under ``folder``, as paths relative to it (links are left out: upload real files)."""
    files = set()
    for pattern in PATTERNS:
        for path in folder.glob(pattern):
            relative = path.relative_to(folder)
            if path.is_file() and not path.is_symlink() and not SKIPPED_PARTS & set(relative.parts):
                files.add(relative)
    return sorted(files)


def collect(folder: Path = HERE, out: Path | None = None) -> Path:
    """Write the submission zip of ``folder`` (default: ``cnn_submission.zip`` in it); return its path."""
    folder = Path(folder)
    out = Path(out) if out else folder / ZIP_NAME
    files = submission_files(folder)
    if Path("cs_conv/layers.py") not in files or not any(path.suffix == ".ipynb" for path in files):
        raise SystemExit(f"No notebooks or no cs_conv/layers.py in {folder}: keep this script in your "
                         "assignment folder, where it came, and run it there.")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            archive.write(folder / relative, relative.as_posix())
    return out


def written_answers_html(folder: Path, out: Path) -> Path:
    """All the notebooks of ``folder``, in order and as saved, as one HTML page whose math is typeset
    by the MathJax installed with Jupyter (no network)."""
    import nbformat
    from nbconvert import HTMLExporter

    book = nbformat.v4.new_notebook()
    for path in sorted(folder.glob("*.ipynb")):
        book.cells.append(nbformat.v4.new_markdown_cell(f"# {path.name}"))
        book.cells.extend(nbformat.read(path, as_version=4).cells)
    exporter = HTMLExporter()
    try:
        import jupyter_server_mathjax

        local = Path(jupyter_server_mathjax.__file__).parent / "static" / "MathJax.js"
        exporter.mathjax_url = local.as_uri() + "?config=TeX-AMS-MML_HTMLorMML-full,Safe"
    except ImportError:
        pass  # the math stays as TeX, which a reader still follows
    html, _ = exporter.from_notebook_node(book)
    # The page's one other script is require.js from a CDN, for interactive widgets this course has none of.
    html = html.replace(f'<script src="{exporter.require_js_url}"></script>', "")
    out.write_text(html, encoding="utf-8")
    return out


def browser() -> str | None:
    """A Chrome or Chromium on this computer, if there is one."""
    found = next(filter(None, map(shutil.which, BROWSERS)), None)
    return found or next((path for path in MAC_BROWSERS if Path(path).is_file()), None)


def print_to_pdf(html: Path, pdf: Path, program: str) -> bool:
    """Print ``html`` to ``pdf`` with a headless Chrome or Chromium; whether it worked."""
    with tempfile.TemporaryDirectory(prefix="collect-browser-") as profile:
        command = [program, "--headless", "--disable-gpu", f"--user-data-dir={profile}",
                   "--virtual-time-budget=30000", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root
        try:
            subprocess.run(command, capture_output=True, timeout=180, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-"


def written_answers(folder: Path = HERE) -> Path:
    """``cnn_written_answers.pdf`` in ``folder``, or the HTML to print by hand when no browser can."""
    folder = Path(folder)
    pdf = folder / f"{WRITTEN}.pdf"
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="collect-") as tmp:
        html = written_answers_html(folder, Path(tmp) / f"{WRITTEN}.html")
        program = browser()
        if program is not None and print_to_pdf(html, pdf, program):
            return pdf
        return Path(shutil.copyfile(html, folder / html.name))


def main() -> int:
    out = collect()
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    print(f"Wrote {out} ({out.stat().st_size / 1000:.0f} kB, {len(names)} files):")
    for name in names:
        print(f"  {name}")
    print("Upload this zip as it is.")
    if "--no-pdf" in sys.argv[1:]:
        return 0
    answers = written_answers()
    if answers.suffix == ".pdf":
        print(f"Wrote {answers}: your notebooks for the written answers. Upload it where your course asks "
              "for them (on Gradescope, the PDF assignment).")
    else:
        print(f"No Chrome or Chromium found to print a PDF, so wrote {answers}: open it in your browser, "
              "print it and choose \"Save as PDF\", then upload that PDF for the written answers.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
