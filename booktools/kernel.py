"""The Jupyter kernel of this checkout: installed inside .venv, named after the checkout's path.

One fixed, per-user kernel name would let a second checkout's chapters run in the first one's
virtual environment and, through its editable install, import and write into the first
checkout. A kernel spec inside the virtual environment (`--sys-prefix`), with a name derived from
the repository's path, belongs to exactly one checkout; the runner passes it to papermill by
name, and `.venv/bin/jupyter lab` lists it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from helpers.paths import ROOT

LEGACY_NAME = "happy-or-sad"  # the per-user kernel earlier versions registered


def kernel_name(root: Path = ROOT) -> str:
    """'happy-or-sad-' and 8 hex digits of the checkout's resolved path."""
    digest = hashlib.sha256(str(Path(root).resolve()).encode("utf-8")).hexdigest()[:8]
    return f"{LEGACY_NAME}-{digest}"


def display_name(root: Path = ROOT) -> str:
    """What Jupyter's kernel menu shows: the book and the checkout's folder name."""
    return f"Python (happy-or-sad: {Path(root).resolve().name})"


def spec_folder(name: str | None = None) -> Path:
    """Where the kernel spec lives: inside this virtual environment."""
    return Path(sys.prefix) / "share" / "jupyter" / "kernels" / (name or kernel_name())


def is_installed(name: str | None = None) -> bool:
    """True when this environment's kernel spec exists and starts this environment's Python."""
    spec = spec_folder(name) / "kernel.json"
    try:
        argv = json.loads(spec.read_text(encoding="utf-8"))["argv"]
    except (OSError, ValueError, KeyError):
        return False
    return Path(argv[0]) == Path(sys.executable)


def remove_legacy_user_kernel() -> None:
    """Remove the old per-user 'happy-or-sad' kernel if it starts this environment's Python."""
    from jupyter_client.kernelspec import KernelSpecManager

    manager = KernelSpecManager()
    folder = manager.find_kernel_specs().get(LEGACY_NAME)
    if not folder or Path(folder).is_relative_to(Path(sys.prefix)):
        return
    try:
        argv = json.loads((Path(folder) / "kernel.json").read_text(encoding="utf-8"))["argv"]
    except (OSError, ValueError, KeyError):
        return
    if Path(argv[0]).resolve().is_relative_to(Path(sys.prefix).resolve()):
        shutil.rmtree(folder, ignore_errors=True)


def ensure_kernel() -> str:
    """Install this checkout's kernel spec into .venv when it is missing; return its name."""
    name = kernel_name()
    if not is_installed(name):
        from ipykernel.kernelspec import install

        install(kernel_name=name, display_name=display_name(), prefix=sys.prefix)
        remove_legacy_user_kernel()
    return name


if __name__ == "__main__":
    print(ensure_kernel())
