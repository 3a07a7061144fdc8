"""The ``fastnn`` command (minimal for now: ``fastnn info``)."""
from __future__ import annotations

import argparse
import sys


def _version() -> str:
    import fastnn
    version = getattr(fastnn, "__version__", None)
    if version:
        return version
    try:
        from importlib.metadata import version as dist_version
        return dist_version("fastnn")
    except Exception:
        return "unknown"


def cmd_info(args) -> int:
    from fastnn import backends
    print(f"fastnn {_version()} (Python {sys.version.split()[0]})")
    names = backends.available()
    print(f"available backends: {', '.join(names)}")
    for name, reason in backends.unavailable_reasons().items():
        print(f"unavailable: {name}: {reason}")
    if "cython" in names:
        cy = backends.get("cython")
        print(f"cython: OpenMP {'on' if cy.openmp else 'off'}, compiled kernels: {', '.join(cy.compiled_kernels)}")
    print(f"threads: {backends.get_num_threads()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastnn", description="fastnn: an educational tensor/NN library")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command")
    info = sub.add_parser("info", help="print the version and the available kernel backends")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
