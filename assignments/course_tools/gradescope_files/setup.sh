#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential util-linux
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --upgrade pip
/autograder/venv/bin/pip install --quiet -r /autograder/source/requirements.txt
# Cython's utility module, which every build of a student's .pyx imports, compiled once into the
# image's build cache, so that no submission pays for it.
(cd /autograder/source && /autograder/venv/bin/python -m autograder prepare)
# Docker's default capabilities (Gradescope's) forbid namespaces, so student code runs as a
# sandbox uid that sees the image's own folders: the grader's source (reference answers included)
# must be root-only, or the autograder refuses to grade. The sandbox runs the venv's numpy, so
# /autograder stays passable and the venv readable.
chmod -R go-rwx /autograder/source
chmod go+x /autograder
chmod -R go+rX /autograder/venv
