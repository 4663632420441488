"""Build the compiled twin: Cython, with OpenMP threads.

Everything else (metadata, dependencies, tool settings) is in pyproject.toml;
this file only says how to compile ``sklearn_gd_logreg/_kernel.pyx``, which
needs a C compiler with OpenMP (gcc on Linux), as scikit-learn's own build
does.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

OPENMP = ["-fopenmp"]

setup(
    ext_modules=cythonize(
        [
            Extension(
                "sklearn_gd_logreg._kernel",
                ["sklearn_gd_logreg/_kernel.pyx"],
                depends=["sklearn_gd_logreg/_kernel.h"],
                extra_compile_args=["-O3", *OPENMP],
                extra_link_args=OPENMP,
            )
        ],
        compiler_directives={"language_level": "3"},
    )
)
