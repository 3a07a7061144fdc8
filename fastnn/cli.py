"""The ``fastnn`` command (also ``python -m fastnn``): ``info``, ``train``, ``evaluate``, ``bench``.

    fastnn train                       # lenet on the embedded mini-MNIST, about a minute
    fastnn train mnist --epochs 3      # the real data set from $FASTNN_DATA or --data-dir
    fastnn train cifar10 --augment
    fastnn evaluate runs/<run>/best.npz
"""
from __future__ import annotations

import argparse
import os
import sys


def _version() -> str:
    from . import __version__
    return __version__


def cmd_info(args) -> int:
    import numpy as np

    from .bench.machine import blas_info, cpu_features, cpu_model

    from . import backends
    from .backends.threads import blas_num_threads
    print(f"fastnn {_version()} (Python {sys.version.split()[0]}, NumPy {np.__version__})")
    names = backends.available()
    print(f"backends: {', '.join(names)} (default: {backends.get().name}, requested: {backends.current_name()})")
    for name, reason in backends.unavailable_reasons().items():
        print(f"  unavailable: {name}: {reason}")
    if "cython" in names:
        cy = backends.get("cython")
        print(f"  cython: OpenMP {'on' if cy.openmp else 'off'}; compiled: {', '.join(cy.compiled_kernels)}")
    if "numba" in names:
        from importlib.metadata import version
        print(f"  numba: {version('numba')} (kernels compile on first use, cached on disk)")
    import sysconfig
    print(f"compiler: {sysconfig.get_config_var('CC') or 'unknown'}")
    print(f"cpu: {cpu_model()}; {os.cpu_count()} logical cores; SIMD: {' '.join(cpu_features()) or 'unknown'}")
    print(f"threads: {backends.get_num_threads()} (BLAS: {blas_num_threads() or '?'})")
    print(f"BLAS: {blas_info()}")
    from . import _malloc
    print(f"malloc: keep freed memory {_malloc.status} (FASTNN_MALLOC_TUNING)")
    print(f"data: {os.environ.get('FASTNN_DATA') or '~/.cache/fastnn'} (FASTNN_DATA)")
    return 0


def cmd_train(args) -> int:
    from .data import DatasetError
    from .runs import RunConfig, train
    cfg = RunConfig(dataset=args.dataset, model=args.model, epochs=args.epochs, batch_size=args.batch_size,
                    lr=args.lr, optimizer=args.optimizer, weight_decay=args.weight_decay, backend=args.backend,
                    threads=args.threads, seed=args.seed, augment=args.augment, out=args.out,
                    data_dir=args.data_dir, limit=args.limit, progress=not args.no_progress)
    try:
        result = train(cfg, resume=args.resume)
    except (DatasetError, FileNotFoundError, ValueError) as exc:
        print(f"fastnn train: error: {exc}", file=sys.stderr)
        return 2
    if result.get("error"):
        return 3
    return 130 if result.get("interrupted") else 0


def cmd_evaluate(args) -> int:
    from .data import DatasetError
    from .runs import evaluate_checkpoint
    try:
        result = evaluate_checkpoint(args.checkpoint, data_dir=args.data_dir, limit=args.limit, backend=args.backend)
    except (DatasetError, FileNotFoundError, ValueError) as exc:
        print(f"fastnn evaluate: error: {exc}", file=sys.stderr)
        return 2
    cfg = result["config"]
    print(f"{cfg.model} on {cfg.dataset} test set ({result['n']} samples): loss {result['loss']:.4f}, "
          f"accuracy {result['accuracy']:.4f}")
    print("per-class accuracy:")
    for name, acc in zip(result["classes"], result["per_class"]):
        print(f"  {name:>12}: {acc:.4f}")
    print("confusion matrix (rows: true class, columns: predicted):")
    confusion = result["confusion"]
    width = max(5, len(str(confusion.max())) + 1)
    print(" " * 4 + "".join(f"{j:>{width}}" for j in range(confusion.shape[1])))
    for i, row in enumerate(confusion):
        print(f"{i:>4}" + "".join(f"{v:>{width}}" for v in row))
    return 0


def cmd_bench(args) -> int:
    """``fastnn bench``: the kernel x backend table (or --train, or --compare A B); see docs/benchmarks.md."""
    from .bench import BenchError, compare_files, run

    def fail(msg) -> int:
        print(f"fastnn bench: error: {msg}", file=sys.stderr)
        return 2
    if args.compare:
        try:
            print(compare_files(*args.compare))
        except BenchError as exc:
            return fail(exc)
        return 0
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder and not os.path.isdir(folder):
            return fail(f"{option} {path}: the folder {folder} does not exist")
    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        result = run(kernels=args.kernels, backends=args.backends, variants=args.variants, sizes=args.sizes,
                     batch=args.batch, threads=args.threads, quick=args.quick, repeat=args.repeat, torch=args.torch,
                     train=args.train, models=args.models, train_batch=args.train_batch,
                     remeasure=args.remeasure, progress=progress, command=sys.argv)
    except BenchError as exc:
        return fail(exc)
    print(result.table())
    if args.json:
        result.save_json(args.json)
        print(f"\nwrote {args.json}")
    if args.plot:
        written, notes = result.plot(args.plot)
        for path in written:
            print(f"wrote {path}")
        for note in notes:
            print(f"note: {note}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .runs import DATASETS, RECIPES
    parser = argparse.ArgumentParser(prog="fastnn", description="fastnn: an educational, C-accelerated "
                                     "tensor and neural-network library")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command")

    info = sub.add_parser("info", help="version, backends, compiler/OpenMP, threads, CPU SIMD, BLAS")
    info.set_defaults(func=cmd_info)

    train = sub.add_parser("train", help="train a model (default: lenet on the embedded mini-MNIST)",
                           description="Train a model and write history, curves and checkpoints to --out. "
                                       "Unset options come from the model's recipe.")
    train.add_argument("dataset", nargs="?", default="mnist-mini", choices=DATASETS)
    train.add_argument("--model", choices=sorted(RECIPES), help="default: lenet (MNIST family), cifar_cnn (CIFAR-10)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="peak learning rate of the one-cycle schedule")
    train.add_argument("--optimizer", choices=("sgd", "adam", "adamw"))
    train.add_argument("--weight-decay", type=float)
    train.add_argument("--backend", default=os.environ.get("FASTNN_BACKEND", "auto"),
                       choices=("auto", "cython", "numba", "numpy"))
    train.add_argument("--threads", type=int, help="threads for OpenMP, Numba and BLAS (default: all cores)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--augment", action="store_true", help="random crops (and flips for CIFAR-10)")
    train.add_argument("--out", help="output folder (default: runs/<dataset>-<model>-<time>/)")
    train.add_argument("--resume", metavar="CKPT", help="continue the run saved in this checkpoint")
    train.add_argument("--data-dir", help="folder with the data sets (default: $FASTNN_DATA or ~/.cache/fastnn)")
    train.add_argument("--limit", type=int, metavar="N", help="use only the first N train and test samples")
    train.add_argument("--no-progress", action="store_true", help="no progress bar (summary lines only)")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="test accuracy, per-class accuracy and confusion matrix of a checkpoint")
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--data-dir")
    evaluate.add_argument("--limit", type=int, metavar="N")
    evaluate.add_argument("--backend", default="auto", choices=("auto", "cython", "numba", "numpy"))
    evaluate.set_defaults(func=cmd_evaluate)

    bench = sub.add_parser(
        "bench", help="kernel x backend timings (GFLOP/s, GB/s, %% of peak, speed-ups), training throughput, "
                      "JSON and plots",
        description="Time the kernels on every backend in interleaved rounds after warm-up and print median, "
                    "spread, GFLOP/s or GB/s, % of the measured machine peak and speed-ups over numpy_ref (and "
                    "PyTorch with --torch). See docs/benchmarks.md.")
    bench.add_argument("--kernels", metavar="LIST",
                       help="families gemm,conv,pool,act,loss,norm or 'all' (default), or kernel names "
                            "(e.g. gemm,relu_backward)")
    bench.add_argument("--backends", metavar="LIST",
                       help="numpy,cython,numba (default: all available; numpy is always timed as the baseline)")
    bench.add_argument("--variants", nargs="?", const="all", metavar="LIST",
                       help="GEMM/conv rungs: alone = every rung (the ladder), or names such as naive,packed "
                            "(default: each backend's default rung)")
    bench.add_argument("--sizes", metavar="LIST", help="GEMM sizes n (default 128,256,512,1024; quick 32,64)")
    bench.add_argument("--batch", metavar="LIST", help="batch of conv/pool/act/loss/norm shapes (default 64; quick 2)")
    bench.add_argument("--threads", metavar="LIST",
                       help="threads for OpenMP, Numba, BLAS and torch; a list runs each (default: all cores)")
    bench.add_argument("--quick", action="store_true", help="tiny sizes and 3 rounds: seconds, proves it runs")
    bench.add_argument("--repeat", type=int, metavar="N", help="interleaved timing rounds (default 5; quick 3)")
    bench.add_argument("--torch", action="store_true", help="also time PyTorch CPU (when installed)")
    bench.add_argument("--train", action="store_true",
                       help="samples/s of a training step (mlp, lenet, cifar_cnn at batch 64 and 128); "
                            "kernels too only when --kernels is given")
    bench.add_argument("--models", metavar="LIST", help="models for --train (default mlp,lenet,cifar_cnn)")
    bench.add_argument("--train-batch", metavar="LIST", help="batch sizes for --train (default 64,128; quick 8)")
    bench.add_argument("--json", metavar="FILE", help="write every figure, the machine and the versions as JSON")
    bench.add_argument("--plot", metavar="FILE",
                       help="write the GEMM ladder to FILE and the roofline to FILE-roofline (PNG unless FILE "
                            "ends in .svg/.pdf; needs matplotlib)")
    bench.add_argument("--remeasure", action="store_true",
                       help="measure the machine's peak and bandwidth again instead of reading the cache")
    bench.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                       help="print per-row ratios between two --json results (nothing is timed)")
    bench.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    bench.set_defaults(func=cmd_bench)
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
