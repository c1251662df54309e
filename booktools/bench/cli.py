"""The command line: `python -m booktools.bench [NAME] [--profile full|smoke] [options]`."""

from __future__ import annotations

import argparse
import sys
import time

from booktools.bench.core import BENCHMARKS, save_result
from helpers.env import out_of_memory
from helpers.profiles import PROFILES, Profile, get_profile


def build_parser() -> argparse.ArgumentParser:
    """The command line: no NAME runs every benchmark; NAME runs one with its own options."""
    parser = argparse.ArgumentParser(
        prog="python -m booktools.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--profile", choices=sorted(PROFILES), help="default: $BOOK_PROFILE or full"
    )
    commands = parser.add_subparsers(dest="name", metavar="NAME")
    for bench in BENCHMARKS.values():
        sub = commands.add_parser(bench.name, help=bench.help, description=bench.help)
        sub.add_argument(
            "--profile",
            choices=sorted(PROFILES),
            default=argparse.SUPPRESS,
            help="default: $BOOK_PROFILE or full",
        )
        if bench.arguments:
            bench.arguments(sub)
    return parser


def run_benchmark(name: str, profile: Profile, args: argparse.Namespace) -> bool:
    """Run one benchmark and save its figures; False (with the reason printed) if it failed."""
    start = time.perf_counter()
    print(f"\n=== {name}: {BENCHMARKS[name].help}", flush=True)
    try:
        result = BENCHMARKS[name].run(profile, args)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {name}: {error}", file=sys.stderr)
        return False
    except MemoryError as error:
        print(f"error: {out_of_memory(f'running the benchmark {name}', error)}", file=sys.stderr)
        return False
    result["benchmark_seconds"] = round(time.perf_counter() - start, 1)
    path = save_result(profile, name, result)
    print(f"  saved to {path} ({result['benchmark_seconds']:.0f} s)")
    return True


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: run one benchmark, or all of them; then rewrite the page's tables."""
    import helpers  # noqa: F401  (quietens TensorFlow before it is imported)
    from booktools import perf

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        for bench in BENCHMARKS.values():
            print(f"{bench.name:12}  {bench.help}")
        return 0
    try:
        profile = get_profile(args.profile)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.name:
        plan = [(args.name, args)]
    else:  # every benchmark with its default options, in registry order
        plan = [(name, parser.parse_args([name])) for name in BENCHMARKS]
    start = time.perf_counter()
    failed = [name for name, options in plan if not run_benchmark(name, profile, options)]
    if not args.name:
        print(
            f"\n=== all benchmarks, profile {profile.name}, {time.perf_counter() - start:.0f} s\n"
        )
        print(perf.performance_markdown(profile.artifacts))
    print(
        f"the performance page shows the {perf.PAGE_PROFILE} profile's saved figures the next "
        "time the site is built (python -m booktools.book --no-execute)"
    )
    if failed and not args.name:  # one benchmark has said why already, in its one line
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
