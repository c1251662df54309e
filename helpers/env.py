"""The setup every chapter runs first: quiet logs, one seed, one plot style.

Also the one line every command (python -m helpers, booktools.book, booktools.bench) prints when
memory runs out: `out_of_memory`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.abc
import importlib.machinery
import logging
import os
import random
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from helpers.paths import ROOT
from helpers.profiles import DEFAULT_SEED, Profile, get_profile


def quiet_logs() -> None:
    """Before TensorFlow is imported: its oneDNN kernels on, its logs and start-up lines quiet.

    TensorFlow 2.21 turns its oneDNN kernels on by itself only on CPUs with AVX-512 VNNI or
    AMX; on an AVX2 laptop the book's CNN then trains about 3 times slower (booktools.bench
    onednn measures it). TF_ENABLE_ONEDNN_OPTS=1 turns them on everywhere, unless the reader
    has set the variable. The C++ lines TensorFlow prints while it loads (absl's "All log
    messages before absl::InitializeLog()", oneDNN's and CUDA's notices) ignore
    TF_CPP_MIN_LOG_LEVEL, so the first `import tensorflow` runs with the process's standard
    error set aside; what it printed is shown only if the import fails.
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    # visualkeras 0.2.0 calls its own default legend_text_spacing_offset=15 deprecated, so
    # every call warns unless it passes 0; the warning says nothing about the reader's code
    warnings.filterwarnings(
        "ignore", message="The legend_text_spacing_offset parameter", module="visualkeras"
    )
    if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietTensorFlow) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietTensorFlow())


@contextlib.contextmanager
def native_stderr_captured() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file; replay what it caught if the block raises.

    TensorFlow's C++ code writes to the descriptor directly, past sys.stderr, so Python's own
    redirection cannot catch it.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            caught.seek(0)
            sys.stderr.write(caught.read().decode("utf-8", errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run with standard error set aside (see quiet_logs)."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec):  # noqa: ANN001, ANN201 - the importlib protocol
        """The module object, made by TensorFlow's own loader."""
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:  # noqa: ANN001
        """Import TensorFlow and initialise its devices (CUDA's notice comes then)."""
        with native_stderr_captured():
            self._loader.exec_module(module)
            module.config.list_physical_devices()

    def __getattr__(self, name: str):  # noqa: ANN204 - resources and the like: the real loader's
        return getattr(self._loader, name)


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """An import hook that wraps the first `import tensorflow` in _QuietLoader, then leaves."""

    def find_spec(self, name, path, target=None):  # noqa: ANN001, ANN201
        """TensorFlow's spec with a quiet loader; None for every other module."""
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


def out_of_memory(step: str, error: MemoryError) -> str:
    """One line for a MemoryError: the step it stopped, what was asked for, what to do about it."""
    asked = str(error).strip().splitlines()
    detail = f" ({asked[0]})" if asked else ""
    return (
        f"out of memory while {step}{detail}: close other programs, or run it on fewer files "
        "or on a machine with more memory"
    )


def seed_everything(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and Keras (and so TensorFlow) with one number, and return it."""
    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)
    return seed


def plot_style() -> None:
    """The book's one plotting style: readable fonts, light grid, no top/right spines."""
    # imported here, not at the top: `import helpers` (the runner, the CLI) must stay light
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    mpl.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.figsize": (7.0, 4.0),
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "image.cmap": "gray",
        }
    )


def check_checkout(folder: Path | None = None) -> None:
    """Refuse to run a chapter of one checkout with another checkout's `helpers`.

    A chapter runs with the helpers its kernel imports. When the notebook's own folder (the
    working directory Jupyter and papermill give it) belongs to a different checkout of the
    book, the kernel is that other checkout's, and the chapter would read and write there.
    """
    here = Path(folder or Path.cwd()).resolve()
    for candidate in (here, here.parent):
        is_checkout = (candidate / "helpers" / "__init__.py").is_file() and (
            candidate / "_toc.yml"
        ).is_file()
        if is_checkout and candidate != ROOT.resolve():
            raise RuntimeError(
                f"this notebook is in the checkout {candidate}, but the kernel imports the "
                f"helpers of {ROOT}: choose the kernel of {candidate.name} "
                f"({candidate.name}/.venv/bin/jupyter lab lists it)"
            )


def setup(
    profile_name: str | None = None,
    seed: int | None = None,
    source: str | os.PathLike | None = None,
    several_classes: bool = False,
    **overrides: object,
) -> Profile:
    """Prepare a chapter: quiet logs, seed, plot style; return its Profile with any overrides.

    `source` is the chapter's SOURCE parameter (None: $BOOK_SOURCE, else 'synthetic'); the
    multi-class chapter passes several_classes, which lets a folder hold more than two classes.
    """
    quiet_logs()
    check_checkout()
    chosen = get_profile(profile_name, source, several_classes)
    given = {key.lower(): value for key, value in overrides.items() if value is not None}
    if "source" in given:
        raise ValueError("pass the source as setup(..., source=...), where it is checked")
    fields = {field.name for field in dataclasses.fields(Profile)}
    unknown = sorted(set(given) - fields)
    if unknown:
        raise ValueError(f"unknown profile setting(s) {unknown}: known are {sorted(fields)}")
    if seed is not None:
        given["seed"] = seed
    chosen = dataclasses.replace(chosen, **given)
    seed_everything(chosen.seed)
    plot_style()
    return chosen
