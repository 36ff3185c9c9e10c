"""Write the source notebooks of assignment ``cnn`` from ``course_tools/notebooks/``.

    python -m course_tools.build_notebooks [--check]

(run from ``assignments/``; ``make notebooks`` does). ``--check`` writes nothing and exits 1 when a
committed notebook differs from what its module builds, so a hand edit cannot go unnoticed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import nbformat

SOURCE = Path(__file__).resolve().parent.parent / "source" / "cnn"
MODULES = (
    "nb01_vector_backprop",
    "nb02_convolution",
    "nb03_pooling",
    "nb04_im2col_cython",
    "nb05_convnet",
)


def built_notebooks() -> dict[str, nbformat.NotebookNode]:
    """Each notebook's file name and content, for every module that exists."""
    notebooks = {}
    for name in MODULES:
        try:
            module = importlib.import_module(f"course_tools.notebooks.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"course_tools.notebooks.{name}":
                continue
            raise
        notebooks[f"{module.NAME}.ipynb"] = module.build()
    return notebooks


def _text(nb: nbformat.NotebookNode) -> str:
    # Cell ids are random per build; the committed ids are kept when nothing else changed.
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed notebooks")
    args = parser.parse_args(argv)
    SOURCE.mkdir(parents=True, exist_ok=True)
    stale = []
    for filename, nb in built_notebooks().items():
        path = SOURCE / filename
        if path.exists():
            old = nbformat.read(path, as_version=4)
            for new_cell, old_cell in zip(nb.cells, old.cells, strict=False):
                new_cell["id"] = old_cell.get("id", new_cell["id"])
            if _text(old) == _text(nb):
                continue
        stale.append(filename)
        if not args.check:
            path.write_text(_text(nb))
            print(f"wrote {path}")
    if args.check and stale:
        print("out of date (run make notebooks): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
