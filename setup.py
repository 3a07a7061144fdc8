"""Build the Cython kernels of fastnn.

Everything declarative (name, version, dependencies, package data, the console
script) lives in pyproject.toml; this file only describes the compiled part:

* every ``src_cython/_<name>.pyx`` becomes the extension ``fastnn._cython._<name>``;
* Cython runs with bounds and wrap-around checks off, because every kernel input was
  validated by ``fastnn/backends/contract.py`` before it reaches compiled code;
* C flags: ``-O3`` (portable wheels); ``-march=native`` only when ``FASTNN_NATIVE=1``;
* OpenMP is detected by compiling and linking a tiny program with ``-fopenmp`` using the
  compiler setuptools is configured with. Without it the kernels still build: Cython's
  ``prange`` then runs as a plain serial loop, and a message says so.

Build in place for development with ``pip install -e ".[test]"``.
"""
from __future__ import annotations

import glob
import os
import shutil
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = "src_cython"

OPENMP_TEST_PROGRAM = r"""
#include <omp.h>
#include <stdio.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    printf("%d %d\n", n, omp_get_max_threads());
    return 0;
}
"""


def _is_msvc(compiler) -> bool:
    return getattr(compiler, "compiler_type", "") == "msvc"


def _compiler_name(compiler) -> str:
    cmd = getattr(compiler, "compiler_so", None) or getattr(compiler, "compiler", None)
    if isinstance(cmd, (list, tuple)) and cmd:
        return str(cmd[0])
    return getattr(compiler, "compiler_type", "the C compiler")


def openmp_flags(compiler) -> tuple[list[str], list[str]]:
    """(compile_args, link_args) that enable OpenMP with ``compiler``, or ([], []) if it cannot.

    The check is real: a program using ``omp.h`` is compiled *and linked*, which is
    what fails on e.g. Apple clang without libomp."""
    if os.environ.get("FASTNN_NO_OPENMP") == "1":
        return [], []
    compile_args = ["/openmp"] if _is_msvc(compiler) else ["-fopenmp"]
    link_args = [] if _is_msvc(compiler) else ["-fopenmp"]
    tmp = tempfile.mkdtemp(prefix="fastnn-omp-")
    cwd = os.getcwd()
    try:
        os.chdir(tmp)           # relative names keep the compiler's output inside tmp
        with open("omp_test.c", "w") as f:
            f.write(OPENMP_TEST_PROGRAM)
        objects = compiler.compile(["omp_test.c"], extra_postargs=compile_args)
        compiler.link_executable(objects, "omp_test", extra_postargs=link_args)
    except Exception:           # CompileError, LinkError, missing compiler: all mean "no OpenMP"
        return [], []
    finally:
        os.chdir(cwd)
        shutil.rmtree(tmp, ignore_errors=True)
    return compile_args, link_args


class BuildExt(build_ext):
    """build_ext that adds optimisation and OpenMP flags once the compiler is known."""

    def build_extensions(self):
        compiler = self.compiler
        if _is_msvc(compiler):
            compile_args, link_args = ["/O2"], []
        else:
            compile_args, link_args = ["-O3"], []
            if os.environ.get("FASTNN_NATIVE") == "1":
                compile_args.append("-march=native")
        omp_compile, omp_link = openmp_flags(compiler)
        if omp_compile:
            print(f"fastnn: OpenMP enabled ({' '.join(omp_compile)}) with {_compiler_name(compiler)}")
        else:
            print(f"fastnn: OpenMP not available with {_compiler_name(compiler)}; "
                  f"building the Cython kernels single-threaded", file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args = compile_args + omp_compile + list(ext.extra_compile_args or [])
            ext.extra_link_args = link_args + omp_link + list(ext.extra_link_args or [])
        super().build_extensions()


def extensions():
    import numpy
    from Cython.Build import cythonize

    sources = sorted(glob.glob(os.path.join(SRC, "_*.pyx")))
    if not sources:
        raise SystemExit(f"fastnn: no Cython sources found in {SRC}/")
    exts = [
        Extension(
            "fastnn._cython." + os.path.splitext(os.path.basename(path))[0],
            [path],
            include_dirs=[numpy.get_include(), SRC],
            depends=glob.glob(os.path.join(SRC, "*.h")) + glob.glob(os.path.join(SRC, "*.pxd"))
            + glob.glob(os.path.join(SRC, "*.pxi")),
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for path in sources
    ]
    return cythonize(
        exts,
        include_path=[SRC],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,        # the contract validated every index range
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        quiet=True,
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
