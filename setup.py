"""Builds the one compiled module, cs_conv.im2col_cython; everything else is in pyproject.toml.

The compiler directives are in cs_conv/cython_directives.json, which the autograder compiles with
too. Set CS_CONV_DEBUG=1 to compile with its "debug" ones: bounds and wraparound checks back on.
"""

import json
import os
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

DIRECTIVES = json.loads((Path(__file__).parent / "cs_conv" / "cython_directives.json").read_text())
DEBUG = os.environ.get("CS_CONV_DEBUG") == "1"

setup(
    ext_modules=cythonize(
        [Extension("cs_conv.im2col_cython", ["cs_conv/im2col_cython.pyx"], extra_compile_args=["-O3"])],
        compiler_directives={**DIRECTIVES["release"], **(DIRECTIVES["debug"] if DEBUG else {})},
    ),
)
