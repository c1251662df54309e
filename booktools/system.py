"""The system programs a run needs: found on PATH, installed where the project can, or named in one line.

    python3 booktools/system.py provide book|test   # before anything else (make does this)
    python3 booktools/system.py check book|test     # report only, never install

The book itself needs no system program beyond Python and npm (its diagrams are drawn in
Python). `make test` drives a real browser, so it needs Chromium and its driver. Where the
project can install them itself (root, or passwordless sudo, with apt-get), `provide` does;
otherwise it stops at once with one line that names what is missing and how to install it on
Debian/Ubuntu, Fedora and macOS, so that no run fails after minutes of work.

This module uses the standard library only: `make` runs it with the system's python3, before
the virtual environment exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Program:
    """A system program: the names it goes by on PATH, what it is for, and its packages."""

    name: str
    purpose: str
    commands: tuple[str, ...]  # any of these on PATH will do
    debian: str
    fedora: str
    brew: str

    def find(self) -> str | None:
        """The program's path, or None when none of its names is on PATH."""
        return next((found for c in self.commands if (found := shutil.which(c))), None)


class VenvModule(Program):
    """Python's venv module with ensurepip (Debian ships it separately, as python3-venv)."""

    def find(self) -> str | None:
        """sys.executable when `python3 -m venv` can create an environment with pip in it."""
        try:
            import ensurepip  # noqa: F401
            import venv  # noqa: F401
        except ImportError:
            return None
        return sys.executable


PROGRAMS: dict[str, Program] = {
    "npm": Program(
        "npm", "installs MathJax, which the site serves itself", ("npm",), "npm", "npm", "node"
    ),
    "venv": VenvModule(
        "python3-venv", "creates .venv", ("python3",), "python3-venv", "python3", "python"
    ),
    "chromium": Program(
        "chromium",
        "the browser the site tests drive",
        ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"),
        "chromium",
        "chromium",
        "--cask chromium",
    ),
    "chromedriver": Program(
        "chromedriver",
        "lets the site tests drive the browser",
        ("chromedriver",),
        "chromium-driver",
        "chromedriver",
        "chromedriver",
    ),
}
NEEDS: dict[str, tuple[str, ...]] = {
    "book": ("venv", "npm"),
    "test": ("venv", "npm", "chromium", "chromedriver"),
}


def missing(need: str) -> list[Program]:
    """The programs a kind of run (`book` or `test`) needs that this machine lacks."""
    if need not in NEEDS:
        raise ValueError(f"unknown need {need!r}: choose one of {', '.join(NEEDS)}")
    return [PROGRAMS[key] for key in NEEDS[need] if PROGRAMS[key].find() is None]


def install_command() -> list[str] | None:
    """How this process can install Debian packages: apt-get as root or with passwordless sudo."""
    if shutil.which("apt-get") is None:
        return None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return ["apt-get"]
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True).returncode == 0:
        return [sudo, "-n", "apt-get"]
    return None


def advice(programs: list[Program]) -> str:
    """One line: what is missing, what for, and the install command on three systems."""
    what = ", ".join(f"{p.name} ({p.purpose})" for p in programs)
    debian = " ".join(p.debian for p in programs)
    fedora = " ".join(p.fedora for p in programs)
    casks = [p.brew.split()[-1] for p in programs if p.brew.startswith("--cask")]
    formulae = [p.brew for p in programs if not p.brew.startswith("--cask")]
    brew = " && ".join(
        part
        for part in (
            f"brew install --cask {' '.join(casks)}" if casks else "",
            f"brew install {' '.join(formulae)}" if formulae else "",
        )
        if part
    )
    return (
        f"missing: {what}. Install: Debian/Ubuntu `sudo apt-get install {debian}`; "
        f"Fedora `sudo dnf install {fedora}`; macOS `{brew}`"
    )


def install(programs: list[Program], apt: list[str]) -> None:
    """Install the programs' Debian packages quietly (raises CalledProcessError on failure)."""
    packages = [p.debian for p in programs]
    print(f"installing Debian packages: {' '.join(packages)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"env": env, "check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([*apt, "update", "-qq"], **quiet)
    subprocess.run([*apt, "install", "-y", "-qq", "--no-install-recommends", *packages], **quiet)


def provide(need: str, allow_install: bool = True) -> int:
    """Make sure the programs are there: install what can be installed, else one line and 1."""
    lacking = missing(need)
    if not lacking:
        return 0
    apt = install_command() if allow_install else None
    if apt is not None:
        try:
            install(lacking, apt)
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"error: could not install {', '.join(p.debian for p in lacking)}: {error}")
        lacking = missing(need)
        if not lacking:
            return 0
    print(f"error: {advice(lacking)}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """`provide NEED` or `check NEED`; exit 0 when everything is there."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("provide", "check") or args[1] not in NEEDS:
        print(f"usage: system.py provide|check {'|'.join(NEEDS)}", file=sys.stderr)
        return 2
    return provide(args[1], allow_install=args[0] == "provide")


if __name__ == "__main__":
    sys.exit(main())
