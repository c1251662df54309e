"""The benchmarks' common parts: the registry, the saved results, a measurement in a fresh process.

A benchmark is a function `bench_x(profile, args) -> dict` registered with `@register("x", ...)`;
its result is saved with the date and the machine in artifacts/<P>/bench_<name>.json
(`save_result`), which the performance page reads (booktools.perf). `run_in_child` calls a
function in a fresh interpreter for an honest wall time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from booktools.machine import machine_description
from helpers.profiles import Profile
from helpers.store import atomic_write_text


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: the function, a one-line description and its extra arguments."""

    name: str
    run: Callable[[Profile, argparse.Namespace], dict[str, Any]]
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


BENCHMARKS: dict[str, Benchmark] = {}


def register(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] | None = None
) -> Callable:
    """Add a benchmark function to the registry under `name`."""

    def decorate(function: Callable[[Profile, argparse.Namespace], dict[str, Any]]) -> Callable:
        if name in BENCHMARKS:
            raise ValueError(f"a benchmark named {name!r} is already registered")
        BENCHMARKS[name] = Benchmark(name, function, help, arguments)
        return function

    return decorate


def save_result(profile: Profile, name: str, result: dict[str, Any]) -> Path:
    """Keep a benchmark's last result in artifacts/<P>/bench_<name>.json."""

    path = profile.artifacts / f"bench_{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = {
        "benchmark": name,
        "profile": profile.name,
        "when": time.time(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_description(),
        **result,
    }
    atomic_write_text(path, json.dumps(stamped, indent=2) + "\n")
    return path


def load_result(profile: Profile, name: str) -> dict[str, Any] | None:
    """A benchmark's last saved result, or None if it has never been run."""
    from booktools.perf import read_json

    return read_json(profile.artifacts / f"bench_{name}.json")


# --- running a measurement in a fresh process, for an honest peak RSS -----------------------------

CHILD_MARK = "@@bench-result@@ "
RSS_MARK = "@@bench-maxrss@@ "
MEMORY_MARK = "@@bench-memoryerror@@ "
# a MemoryError in the child is one marked line for the parent to raise again, not a traceback
CHILD_CODE = (
    "import importlib, json, sys\n"
    "import helpers\n"
    "module, name = sys.argv[1].split(':')\n"
    "try:\n"
    "    result = getattr(importlib.import_module(module), name)(**json.loads(sys.argv[2]))\n"
    "except MemoryError as error:\n"
    f"    print({MEMORY_MARK!r} + ' '.join(str(error).split()), flush=True)\n"
    "    sys.exit(1)\n"
    f"print({CHILD_MARK!r} + json.dumps(result), flush=True)\n"
)
# Linux carries a process's peak RSS across fork and exec, so a child started by this (large,
# TensorFlow-holding) process would report at least this process's size. A tiny launcher,
# importing only os and sys, forks the measured child instead and reports that child's rusage.
LAUNCHER_CODE = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.executable, [sys.executable, '-c', *sys.argv[1:]])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    f"print({RSS_MARK!r} + str(usage.ru_maxrss), flush=True)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


@dataclass(frozen=True)
class ChildRun:
    """What a function returned in a fresh Python process, its wall time and its peak RSS."""

    result: Any
    seconds: float
    peak_rss_mb: float


def max_rss_mb(maxrss: int) -> float:
    """ru_maxrss in MB: kilobytes on Linux, bytes on macOS."""
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


def marked(output: str, mark: str) -> str | None:
    """The text after the last line of the child's output that starts with `mark`, or None."""
    lines = [line[len(mark) :] for line in output.splitlines() if line.startswith(mark)]
    return lines[-1] if lines else None


@dataclass
class StartedChild:
    """A function started in a fresh interpreter by `start_in_child`; `finish` waits for it."""

    target: str
    process: subprocess.Popen
    output: Any  # the temporary file the child's standard output goes to
    started: float

    def finish(self) -> ChildRun:
        """Wait for the child; what it returned, its wall time (from its start) and peak RSS.

        A MemoryError in the child is raised here again, with the child's message; any other
        failure of the child is a RuntimeError.
        """
        try:
            self.process.wait()
        except BaseException:  # Ctrl-C: the child, in a session of its own, is stopped too
            self.stop()
            raise
        seconds = time.perf_counter() - self.started
        self.output.seek(0)
        stdout = self.output.read()
        self.output.close()
        found, maxrss = marked(stdout, CHILD_MARK), marked(stdout, RSS_MARK)
        memory = marked(stdout, MEMORY_MARK)
        if memory is not None:
            raise MemoryError(
                f"{self.target} in its own process: {memory}" if memory else self.target
            )
        if self.process.returncode != 0 or found is None:
            raise RuntimeError(
                f"{self.target} failed in its own process (exit {self.process.returncode})"
            )
        # no per-child rusage (Windows): report none rather than a wrong figure
        peak = max_rss_mb(int(maxrss)) if maxrss is not None else float("nan")
        return ChildRun(json.loads(found), seconds, round(peak, 1))

    def stop(self) -> None:
        """End the child if it still runs (with the launcher's own child, on POSIX)."""
        if self.process.poll() is None:
            if hasattr(os, "killpg"):
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()
            self.process.wait()
        self.output.close()


def start_in_child(
    target: str, env: dict[str, str | None] | None = None, **kwargs: Any
) -> StartedChild:
    """Start `module:function(**kwargs)` in a fresh interpreter; `.finish()` returns a ChildRun.

    `env` changes the child's environment (None as a value removes the variable).
    """
    from helpers.paths import ROOT

    arguments = [CHILD_CODE, target, json.dumps(kwargs)]
    posix = hasattr(os, "fork") and hasattr(os, "wait4")
    launcher = [sys.executable, "-c", LAUNCHER_CODE] if posix else [sys.executable, "-c"]
    environment = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    output = tempfile.TemporaryFile("w+", encoding="utf-8")  # a pipe could fill while it waits
    start = time.perf_counter()
    process = subprocess.Popen(
        [*launcher, *arguments],
        cwd=ROOT,
        stdout=output,
        text=True,
        env=environment,
        start_new_session=posix,  # stop() ends the launcher and the child it forked together
    )
    return StartedChild(target, process, output, start)


def run_in_child(target: str, env: dict[str, str | None] | None = None, **kwargs: Any) -> ChildRun:
    """Call `module:function(**kwargs)` in a fresh interpreter; its wall time and its own peak RSS.

    `env` changes the child's environment (None as a value removes the variable). A MemoryError
    in the child is raised here again, with the child's message; any other failure of the child
    is a RuntimeError.
    """
    return start_in_child(target, env, **kwargs).finish()


def median_rate(count: int, seconds: list[float]) -> float:
    """Items per second over the median of several timed runs."""
    return count / float(np.median(seconds))


def link_images(paths: list[Path], labels: list[str], folder: Path) -> Path:
    """A <folder>/<class>/ tree of links to the given images, for image_dataset_from_directory."""
    for index, (path, label) in enumerate(zip(paths, labels, strict=True)):
        target = folder / label / f"{index:05d}{path.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.symlink_to(path.resolve())
        except OSError:  # no symlinks (some Windows setups): copy instead
            shutil.copyfile(path, target)
    return folder


def time_epochs(model: Any, dataset: Any, images: int, epochs: int) -> list[float]:
    """Fit for `epochs`; return each epoch's training seconds, the first (warm-up) one left out."""
    from helpers.train import ThroughputMeter

    meter = ThroughputMeter(images)
    model.fit(dataset, epochs=epochs, callbacks=[meter], shuffle=False, verbose=0)
    return meter.seconds[1:]
