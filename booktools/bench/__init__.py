"""Benchmarks: `python -m booktools.bench [NAME] [--profile full|smoke] [options]`.

Without a NAME every benchmark runs, in one go; `--list` shows them. The figures are saved in
artifacts/<P>/bench_<name>.json, and the performance page's tables are written from them
whenever the site is built (booktools.perf). One module per benchmark, each registering its
function under its name with `@register(...)` (core); importing this package imports them all,
in the order `python -m booktools.bench` runs them (MODULES). To add one, write a module with
`def bench_x(profile, args) -> dict` decorated with `@register("x", "what it measures",
arguments=...)`, print its table, and add the module to MODULES.

- core: the registry, the saved results, `run_in_child` (a fresh process: honest time and peak RSS)
- faces: the one cached face-drawer (memory, streaming and clean-scale draw their faces with it)
- quick: the short measurement `python -m booktools.book` runs after a full build (under a minute)
- the long benchmarks: training, inference, memory, clean_scale, fer, compute, onednn,
  face_crop, streaming
- cli: the command line
"""

import importlib

from booktools.bench.cli import build_parser, main, run_benchmark
from booktools.bench.core import (
    BENCHMARKS,
    Benchmark,
    ChildRun,
    load_result,
    register,
    run_in_child,
    save_result,
)

# one module per benchmark, imported (so registered) in the order `python -m booktools.bench` runs
# them: compute after training, whose figures it reads
MODULES = (
    "quick",
    "training",
    "inference",
    "memory",
    "clean_scale",
    "fer",
    "compute",
    "onednn",
    "face_crop",
    "streaming",
)
for _module in MODULES:
    importlib.import_module(f"booktools.bench.{_module}")

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "ChildRun",
    "build_parser",
    "load_result",
    "main",
    "register",
    "run_benchmark",
    "run_in_child",
    "save_result",
]
