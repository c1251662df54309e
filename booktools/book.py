"""Build the book: execute every chapter with papermill, then build the site with Jupyter Book.

    python -m booktools.book [--profile full|smoke] [--source PATH] [--only NN ...]
                             [--jobs N] [--no-execute] [--no-build]

`make book` calls this; readers without make (Windows) can call it directly. Each run (a profile
and a source) keeps its executed chapters in _build/runs/<run>/, with one log file per chapter
for everything the chapter's kernel printed on stderr, so a smoke run never overwrites the full
book and a site is built from the chapters of exactly one run. The full synthetic book's site is
_build/html; every other run's is _build/sites/<run>/_build/html.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from booktools import claims, kernel, site, system
from booktools.chapters import (
    OUTPUTS,
    BookError,
    Chapter,
    check_chapters,
    discover_chapters,
    select,
)
from booktools.machine import machine_description, memory_bytes
from helpers.env import out_of_memory
from helpers.paths import BUILD, ROOT, ensure_dir, shown
from helpers.profiles import (
    DEFAULT_PROFILE,
    PROFILES,
    SOURCE_ENV_VAR,
    SYNTHETIC,
    Profile,
    get_profile,
    profile_name,
)

LOG_TAIL = 25  # lines of a failed chapter's log shown on the console
# A chapter no other chapter waits for runs at this niceness, so it takes only the CPU time the
# chapters others are waiting for leave over (on two cores, chapter 5 trains while 6-9 run).
LEAF_NICENESS = 10
EXIT_INTERRUPTED = 130


RUNS = BUILD / "runs"


@contextlib.contextmanager
def memory_step(step: str) -> Iterator[None]:
    """A MemoryError in the block becomes a BookError naming the step: one line, exit 1."""
    try:
        yield
    except MemoryError as error:
        raise BookError(out_of_memory(step, error)) from None


# --- runs: one folder of executed chapters per profile and source -------------------------------


def run_folder(profile: Profile) -> Path:
    """_build/runs/<profile folder>/: this run's executed chapters, logs and failed copies."""
    return RUNS / profile.folder_name


def run_identity(profile: Profile) -> dict[str, str]:
    """What every executed copy of a run records, so a site never mixes two runs."""
    return {"profile": profile.name, "source": profile.source, "run": profile.folder_name}


CHAPTER_GIB = 3  # memory a chapter's kernel may take at its peak (the full profile: about 2.5)
SPARE_GIB = 2  # left to the system and the runner


def default_jobs() -> int:
    """Chapters at a time: one more than the cores, as memory allows; one on a single core.

    A chapter leaves a core idle while its kernel starts, imports and runs plain Python, so one
    chapter more than the cores fills those gaps; each needs CHAPTER_GIB, and never fewer than
    two run where there are two cores.
    """
    cores = os.cpu_count() or 1
    if cores < 2:
        return 1
    total = memory_bytes("total")
    fits = (total / 2**30 - SPARE_GIB) // CHAPTER_GIB if total else 2
    return int(max(2, min(cores + 1, fits)))


def chapter_environment(profile: Profile) -> dict[str, str]:
    """The environment a chapter's process (and its kernel) starts with."""
    env = {**os.environ, "BOOK_PROFILE": profile.name, SOURCE_ENV_VAR: profile.source}
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # see helpers/__init__.py
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")  # the kernel's start-up chatter
    return env


@dataclass
class Running:
    """A chapter being executed by its own process."""

    chapter: Chapter
    process: subprocess.Popen
    log: Path
    result: Path
    started: float = field(default_factory=time.perf_counter)
    started_at: float = field(default_factory=time.time)  # wall clock, to compare with file times


def start_chapter(chapter: Chapter, profile: Profile, name: str, niceness: int = 0) -> Running:
    """Start `python -m booktools.execute` for one chapter, its output going to the log file."""
    folder = run_folder(profile)
    log = ensure_dir(folder / "logs") / f"{chapter.stem}.log"
    result = ensure_dir(folder / "results") / f"{chapter.stem}.json"
    result.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "booktools.execute",
        str(chapter.source),
        str(folder / chapter.source.name),
        str(result),
        "--profile",
        profile.name,
        "--source",
        profile.source,
        "--kernel",
        name,
        "--run",
        json.dumps(run_identity(profile)),
    ]
    return Running(chapter, start_logged(command, log, profile, niceness), log, result)


def start_logged(
    command: list[str], log: Path, profile: Profile, niceness: int = 0
) -> subprocess.Popen:
    """Start a process of the run in its own session, at `niceness`, its output going to log."""
    with log.open("w", encoding="utf-8") as handle:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=chapter_environment(profile),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the runner, which stops its processes
            preexec_fn=(lambda: os.nice(niceness)) if niceness and hasattr(os, "nice") else None,
        )


# the shared fresh draw of the generator's faces (helpers.fresh), made by a process of its own
FRESH_DRAW = (
    "import sys; from helpers import pipeline; from helpers.profiles import get_profile; "
    "print(pipeline.ensure_fresh(get_profile(sys.argv[1], sys.argv[2])))"
)


def start_fresh_draw(profile: Profile, code: str = FRESH_DRAW) -> subprocess.Popen:
    """Draw the fresh faces the chapters compare methods on, in the background, niced.

    For its first seconds chapter 1 works alone, on one core, while the chapters started beside
    it wait for its clean images; the draw needs none of them and fills the idle core. It is made
    once (`store.build_once`): a chapter that asks for the faces sooner waits for this draw, and
    if this process fails, the first chapter that asks draws them itself.
    """
    log = ensure_dir(run_folder(profile) / "logs") / "fresh.log"
    command = [sys.executable, "-c", code, profile.name, profile.source]
    return start_logged(command, log, profile, LEAF_NICENESS)


def log_tail(log: Path, lines: int = LOG_TAIL) -> str:
    """The last lines of a chapter's log, indented, for the console."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace").rstrip().splitlines()
    except OSError:
        return ""
    return "\n".join(f"    {line}" for line in text[-lines:])


def failure_message(running: Running) -> str:
    """One message for a failed chapter: the cell and error, where its copy and log are."""
    try:
        result = json.loads(running.result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        result = {"error": f"its process exited with status {running.process.returncode}"}
    stem, log = running.chapter.stem, shown(running.log)
    if "cell" in result:
        head = (
            f"chapter {stem} failed in cell {result['cell']} (execution count "
            f"{result['execution_count']}, starting {result['first_line']!r}): {result['error']}\n"
            f"  the executed copy with the full traceback is {shown(Path(result['copy']))}"
        )
    else:
        head = f"chapter {stem} failed: {result['error']}"
    return f"{head}\n  the kernel's log is {log}; its last lines:\n{log_tail(running.log)}"


def stop(processes: list[subprocess.Popen]) -> None:
    """Terminate chapter processes (their kernels exit with their parent), then reap them."""
    for process in processes:
        if process.poll() is None:
            with _ignoring(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with _ignoring(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class _ignoring:
    """A tiny contextlib.suppress that works while a KeyboardInterrupt is being handled."""

    def __init__(self, *errors: type[BaseException]) -> None:
        self.errors = errors

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, value, trace) -> bool:
        return kind is not None and issubclass(kind, self.errors)


def ready(
    chapter: Chapter,
    selected: list[Chapter],
    finished: set[str],
    published: set[str] = frozenset(),
) -> bool:
    """Whether a chapter may start: what it waits for (among the chapters run) is done.

    "NN" waits for chapter NN to finish; "NN:output" only for NN to have published that output
    in this run (`published` holds those tokens).
    """
    numbers = {c.number for c in selected}
    for item in waits_of(chapter, selected):
        number = item.split(":")[0]
        if number in numbers and number not in finished and item not in published:
            return False
    return True


def newly_published(running: list[Running], chapters: list[Chapter], profile: Profile) -> set[str]:
    """The 'NN:output' tokens whose output a running chapter NN has written since it started."""
    tokens = {item for c in chapters for item in c.after or () if ":" in item}
    found = set()
    for item in running:
        for token in tokens:
            number, _, output = token.partition(":")
            if number == item.chapter.number:
                path = OUTPUTS[output](profile)
                with _ignoring(OSError):
                    if path.stat().st_mtime >= item.started_at:
                        found.add(token)
    return found


def expected_seconds(chapters: list[Chapter], profile: Profile) -> dict[str, float]:
    """How long each chapter took last time on this machine, else its metadata's hint."""
    try:
        measured = json.loads(timings_path(profile).read_text(encoding="utf-8"))["chapters"]
    except (OSError, ValueError, KeyError, TypeError):
        measured = {}
    guesses = {}
    for chapter in chapters:
        entry = measured.get(chapter.stem) if isinstance(measured, dict) else None
        seconds = entry.get("seconds") if isinstance(entry, dict) else None
        guesses[chapter.stem] = float(seconds) if seconds else chapter.expected_seconds
    return guesses


def waits_of(chapter: Chapter, chapters: list[Chapter]) -> tuple[str, ...]:
    """What a chapter waits for: its `after` ("NN", "NN:output"), else every earlier chapter."""
    if chapter.after is not None:
        return chapter.after
    return tuple(c.number for c in chapters if c.number < chapter.number)


def waited_numbers(chapter: Chapter, chapters: list[Chapter]) -> set[str]:
    """The numbers of the chapters this one waits for (to finish or for an output)."""
    return {item.split(":")[0] for item in waits_of(chapter, chapters)}


def chain_seconds(chapters: list[Chapter], seconds: dict[str, float]) -> dict[str, float]:
    """Each chapter's seconds plus the longest chain of chapters that wait for it.

    Starting the longest chain first packs best: a short chapter that a long one waits for
    (chapter 3 before chapter 8) goes before a longer chapter that nothing waits for.
    """
    chains: dict[str, float] = {}

    def chain(chapter: Chapter, seen: frozenset[str]) -> float:
        if chapter.stem not in chains:
            waiting = [
                c
                for c in chapters
                if chapter.number in waited_numbers(c, chapters) and c.stem not in seen
            ]
            later = max((chain(c, seen | {c.stem}) for c in waiting), default=0.0)
            chains[chapter.stem] = seconds[chapter.stem] + later
        return chains[chapter.stem]

    for chapter in chapters:
        chain(chapter, frozenset({chapter.stem}))
    return chains


def status_line(running: list[Running]) -> str:
    """What is running now, for a terminal: '  running 05_training (74 s), 08_sobel (12 s)'."""
    now = time.perf_counter()
    parts = [f"{r.chapter.stem} ({now - r.started:.0f} s)" for r in running]
    return f"  running {', '.join(parts)}"


def claim_problems(chapter: Chapter, executed: Path, profile: Profile) -> list[str]:
    """The chapter's claims that its executed copy contradicts, one line each.

    Claims are about the default run: checked on the synthetic source only, every claim on the
    full profile and those marked `smoke: true` on the smoke profile.
    """
    if not profile.generated:
        return []
    return claims.check_executed(chapter.source, executed, profile.name)


def execute_chapters(
    chapters: list[Chapter], profile: Profile, jobs: int, false_claims: list[str] | None = None
) -> dict[str, float]:
    """Execute chapters, up to `jobs` at a time in dependency order; return their seconds.

    Each chapter's claims are checked as soon as it has run; the lines of those that do not
    hold go to `false_claims` (the run goes on, so one run names them all), or, when no list is
    given, fail the call once every chapter has run.
    """
    collected: list[str] = [] if false_claims is None else false_claims
    name = kernel.ensure_kernel()
    folder = ensure_dir(run_folder(profile))
    label = profile.name if profile.generated else f"{profile.name}, source {profile.source}"
    print(
        f"executing {len(chapters)} chapter(s) (profile {label}), {jobs} at a time; "
        f"kernel logs in {shown(folder / 'logs')}/",
        flush=True,
    )
    pending, running = list(chapters), []
    finished: set[str] = set()
    published: set[str] = set()
    timings: dict[str, float] = {}
    longest_first = chain_seconds(chapters, expected_seconds(chapters, profile))
    waited_for = set().union(*(waited_numbers(chapter, chapters) for chapter in chapters))
    tty = sys.stdout.isatty()
    try:
        while pending or running:
            published |= newly_published(running, chapters, profile)
            startable = [c for c in pending if ready(c, chapters, finished, published)]
            startable.sort(key=lambda c: -longest_first[c.stem])  # the longest chain first
            for chapter in startable:
                if len(running) >= jobs:
                    break
                pending.remove(chapter)
                niceness = 0 if chapter.number in waited_for else LEAF_NICENESS
                running.append(start_chapter(chapter, profile, name, niceness))
            if not running:
                raise BookError("chapters wait for each other in a circle: check their metadata")
            time.sleep(0.2)
            if tty:
                print(f"\r\033[K{status_line(running)}", end="", flush=True)
            for item in [r for r in running if r.process.poll() is not None]:
                running.remove(item)
                if item.process.returncode != 0:
                    stop([r.process for r in running])
                    if tty:
                        print("\r\033[K", end="")
                    raise BookError(failure_message(item))
                seconds = json.loads(item.result.read_text(encoding="utf-8"))["seconds"]
                timings[item.chapter.stem] = seconds
                finished.add(item.chapter.number)
                item.result.unlink(missing_ok=True)
                false = claim_problems(item.chapter, folder / item.chapter.source.name, profile)
                collected += false
                done = f"[{len(finished)}/{len(chapters)}] {item.chapter.stem:<18} {seconds:6.1f} s"
                if false:
                    done += f"  ({len(false)} claim(s) contradicted by the run: listed at the end)"
                print(f"\r\033[K{done}" if tty else done, flush=True)
    except KeyboardInterrupt:
        stop([r.process for r in running])
        names = ", ".join(r.chapter.stem for r in running) or "between chapters"
        raise KeyboardInterrupt(names) from None
    except MemoryError:
        stop([r.process for r in running])  # no chapter goes on without its runner
        raise
    if false_claims is None and collected:
        raise BookError("\n".join(collected))
    return timings


def print_timings(timings: dict[str, float]) -> None:
    """Print the chapter -> seconds table."""
    width = max([len(name) for name in timings] + [len("chapter")])
    print(f"\n{'chapter':<{width}}  seconds")
    for name, seconds in sorted(timings.items()):
        print(f"{name:<{width}}  {seconds:7.1f}")
    print(f"{'total':<{width}}  {sum(timings.values()):7.1f}")


def timings_path(profile: Profile) -> Path:
    """artifacts/<P>/timings.json: the last measured seconds of each chapter of a run."""
    return profile.artifacts / "timings.json"


def save_timings(timings: dict[str, float], profile: Profile, jobs: int, wall: float) -> Path:
    """Merge this run's chapter timings (each with its own date) into timings.json."""
    from helpers.store import atomic_write_text

    path = timings_path(profile)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    chapters = record.get("chapters", {})
    if not isinstance(chapters, dict):
        chapters = {}
    measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for name, seconds in timings.items():
        chapters[name] = {"seconds": round(seconds, 2), "measured": measured, "jobs": jobs}
    record = {
        "profile": profile.name,
        "run": profile.folder_name,
        "machine": machine_description(),
        "chapters": dict(sorted(chapters.items())),
        "last_run": {"chapters": sorted(timings), "jobs": jobs, "wall_seconds": round(wall, 1)},
    }
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
    return path


def is_default(profile: Profile) -> bool:
    """The full synthetic book: the one whose site is _build/html."""
    return profile.name == DEFAULT_PROFILE and profile.source == SYNTHETIC


def site_output(profile: Profile) -> Path:
    """Where the run's site is built: _build/html for the default book, else under _build/sites."""
    return BUILD / "html" if is_default(profile) else site.sites_folder(profile) / "_build" / "html"


def checked_source(
    name: str, source: str | None, selected: list[Chapter], build: bool, chapters: list[Chapter]
) -> Profile:
    """The run's profile; a source of more than two classes only for chapters that read one."""
    several = not build and all(chapter.several_classes for chapter in selected)
    try:
        return get_profile(name, source, several_classes=several)
    except (OSError, ValueError) as error:
        readers = [c.number for c in chapters if c.several_classes]
        hint = ""
        if readers and not several and source is not None:
            try:
                get_profile(name, source, several_classes=True)
                hint = (
                    f"; only chapter {', '.join(readers)} reads more than two classes: run it "
                    f"alone with --only {' '.join(readers)} --no-build"
                )
            except (OSError, ValueError):
                pass
        raise BookError(f"bad source: {error}{hint}") from None


def run(
    profile_choice: str | None = None,
    only: list[str] | None = None,
    execute: bool = True,
    build: bool = True,
    source: str | None = None,
    jobs: int | None = None,
) -> dict[str, float]:
    """Execute the chosen chapters, then build the site from this run's chapters; return timings."""
    name = profile_name(profile_choice)
    chapters = discover_chapters()
    check_chapters(chapters)
    selected = select(chapters, only) if execute else chapters
    chosen = checked_source(name, source, selected, build, chapters)
    lacking = system.missing("book")
    if lacking:
        raise BookError(system.advice(lacking))
    timings: dict[str, float] = {}
    if execute:
        count = jobs or default_jobs()
        start = time.perf_counter()
        false_claims: list[str] = []
        # every chapter of the generator's book: the faces they compare methods on, drawn early
        drawing = start_fresh_draw(chosen) if chosen.generated and not only else None
        try:
            with memory_step(f"running {len(selected)} chapter(s) of run {chosen.folder_name}"):
                timings = execute_chapters(selected, chosen, count, false_claims)
        finally:
            if drawing is not None:
                stop([drawing])  # long done when the chapters succeed; else it must not linger
        save_timings(timings, chosen, count, time.perf_counter() - start)
        print_timings(timings)
        if false_claims:
            raise BookError("\n".join(false_claims))
        if not only and is_default(chosen):  # a full build: the performance page's figures
            from booktools.bench import quick

            quick.measure_build(chosen, run_folder(chosen) / "logs" / "quick.log")
    if build:
        with memory_step(f"building the site of run {chosen.folder_name}"):
            output = build_site(chapters, chosen, partial=bool(execute and only))
        print(f"\nsite built: {shown(output)}/index.html")
    return timings


def build_site(chapters: list[Chapter], profile: Profile, partial: bool = False) -> Path:
    """Check the run's chapters and their claims, then build its site; return where it is.

    `partial` (a run of some chapters, --only): a chapter never executed in this run gets a
    page saying so, and the site shows the rest; otherwise every chapter must have run.
    """
    folder = run_folder(profile)
    executed = site.check_run(chapters, folder, run_identity(profile), partial=partial)
    present = [c for c in chapters if folder / c.source.name in executed]
    problems = [
        line for c in present for line in claim_problems(c, folder / c.source.name, profile)
    ]
    if problems:
        raise BookError("\n".join(problems))
    absent = [c for c in chapters if c not in present]
    if absent:
        numbers = ", ".join(c.number for c in absent)
        print(
            f"site of the {len(present)} chapter(s) executed in run {profile.folder_name}; "
            f"the pages of {numbers} only say how to run them",
            flush=True,
        )
    source_tree = site.stage(profile, executed, absent)
    site.write_generated(source_tree / "book" / "generated", profile, timings_path(profile))
    output = site_output(profile)
    site.build(source_tree, output)
    return output


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m booktools.book", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--profile", choices=sorted(PROFILES), help="default: $BOOK_PROFILE or full"
    )
    parser.add_argument(
        "--source",
        metavar="PATH",
        help="synthetic (default: $BOOK_SOURCE or synthetic), a folder with one sub-folder or "
        "<class>.zip per class, or a FER-2013 CSV",
    )
    parser.add_argument("--only", nargs="+", metavar="NN", help="execute only these chapters")
    parser.add_argument(
        "--jobs", type=int, metavar="N", help=f"chapters at a time (default {default_jobs()})"
    )
    parser.add_argument(
        "--no-execute", action="store_true", help="rebuild the site from this run's chapters"
    )
    parser.add_argument("--no-build", action="store_true", help="execute chapters, skip the site")
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        run(
            args.profile,
            args.only,
            execute=not args.no_execute,
            build=not args.no_build,
            source=args.source,
            jobs=args.jobs,
        )
    except (BookError, site.SiteError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except MemoryError as error:  # outside the steps run() names: reading the chapters
        print(f"error: {out_of_memory('preparing the book run', error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interrupted:
        print(f"\ninterrupted ({interrupted or 'between chapters'}): stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
