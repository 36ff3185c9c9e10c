"""Builds the one compiled module, cs_conv.im2col_cython; everything else is in pyproject.toml.

Set CS_CONV_DEBUG=1 to compile with bounds and wraparound checks back on.
"""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("CS_CONV_DEBUG") == "1"
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
}

setup(
    ext_modules=cythonize(
        [Extension("cs_conv.im2col_cython", ["cs_conv/im2col_cython.pyx"], extra_compile_args=["-O3"])],
        compiler_directives=DIRECTIVES,
    ),
)
