"""Build the compiled twin: Cython, with OpenMP threads.

Everything else (metadata, dependencies, tool settings) is in pyproject.toml;
this file only says how to compile ``sklearn_gd_logreg/_kernel.pyx`` (the
gradient's sums) and ``_sgd_kernel.pyx`` (an epoch of ``"sgd"``), which need
a C compiler with OpenMP (gcc on Linux), as scikit-learn's own build does.
Without one the install stops, saying so (pip shows the message).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP = ["-fopenmp"]


class BuildWithOpenMP(build_ext):
    """``build_ext``, whose failure says what is missing and what to do."""

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:  # CompileError, LinkError, a missing program
            raise SystemExit(
                "\nsklearn_gd_logreg needs a C compiler with OpenMP to build its "
                f"compiled gradient ({ext.sources[0]}), as scikit-learn built "
                f"from source does, and the build failed:\n    {error}\n"
                "Install one and retry: gcc on Linux (Debian and Ubuntu: "
                "apt install gcc), or set CC to a compiler that accepts "
                "-fopenmp.\n"
            ) from error


setup(
    cmdclass={"build_ext": BuildWithOpenMP},
    ext_modules=cythonize(
        [
            Extension(
                f"sklearn_gd_logreg.{name}",
                [f"sklearn_gd_logreg/{name}.pyx"],
                depends=["sklearn_gd_logreg/_kernel.h"],
                extra_compile_args=["-O3", *OPENMP],
                extra_link_args=OPENMP,
            )
            for name in ["_kernel", "_sgd_kernel"]
        ],
        compiler_directives={"language_level": "3"},
    ),
)
