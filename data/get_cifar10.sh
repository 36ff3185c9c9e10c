#!/bin/sh
# Download CIFAR-10 (python version, 170 MB) into this folder, verify its MD5 and
# SHA-256 against the official values and unpack it to data/cifar-10-batches-py/.
# Extra arguments go to `python -m cs_conv.data fetch-cifar10` (try --help).
# Uses $PYTHON if set, else the repository's .venv if there is one, else python3.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."  # the folder that holds cs_conv/ and data/
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
exec "$PYTHON" -m cs_conv.data fetch-cifar10 --dest "$here" "$@"
