"""Pack your work into one small zip to upload: ``python collect_submission.py``.

Run it in this folder after you have saved every notebook. It writes ``cnn_submission.zip`` here,
holding exactly what is graded: the notebooks (``*.ipynb``), ``cs_conv/**/*.py`` and
``cs_conv/im2col_cython.pyx``, at the top of the zip as they sit in this folder. Your virtual
environment, build products and data stay out. Upload the zip as it is (Gradescope, or your
course's learning platform); do not unpack or rename what is inside.
"""

import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ZIP_NAME = "cnn_submission.zip"
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


def main() -> int:
    out = collect()
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    print(f"Wrote {out} ({out.stat().st_size / 1000:.0f} kB, {len(names)} files):")
    for name in names:
        print(f"  {name}")
    print("Upload this zip as it is.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
