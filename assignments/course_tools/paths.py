"""Where the course's parts are, for every course tool: the repository and the folders in it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOLVED = REPO / "cs_conv"  # the instructor's solved kit, fenced
GRADER = REPO / "autograder"
COURSE = REPO / "assignments"  # the nbgrader course directory
ASSIGNMENT = "cnn"
SOURCE = COURSE / "source" / ASSIGNMENT  # the source notebooks
