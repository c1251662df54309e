"""The setup every chapter runs first: quiet logs, one seed, one plot style."""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import warnings

import numpy as np

from helpers.profiles import Profile, get_profile

DEFAULT_SEED = 42


def quiet_logs() -> None:
    """Silence TensorFlow's C++ and Python start-up chatter (set before TensorFlow is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def seed_everything(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and Keras (and so TensorFlow) with one number, and return it."""
    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)
    return seed


def plot_style() -> None:
    """The book's one plotting style: readable fonts, light grid, no top/right spines."""
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


def setup(
    profile: str | None = None,
    seed: int | None = None,
    source: str | os.PathLike | None = None,
    **overrides: object,
) -> Profile:
    """Prepare a chapter: quiet logs, seed, plot style; return its Profile with any overrides.

    `source` is the chapter's SOURCE parameter (None: $BOOK_SOURCE, else 'synthetic').
    """
    quiet_logs()
    chosen = get_profile(profile, source)
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
    if not chosen.generated:
        print(f"source: {chosen.source} ({chosen.source_kind}); data in {chosen.data}")
    return chosen


def no_ground_truth(
    profile: Profile, what: str, numbers: tuple[str, ...] = (), texts: tuple[str, ...] = ()
) -> None:
    """Say in one line that a check needs the generator's answer key and is skipped for this source.

    The prose of a skipped section still names its glued values: they are glued as NaN (numbers)
    or "n/a" (text), so the page builds and shows plainly that nothing was measured.
    """
    from IPython.display import Markdown
    from myst_nb import glue

    print(
        f"Skipped for this source ({profile.source_kind}: {profile.source}): {what} needs the "
        "synthetic generator's ground truth, which these images do not have."
    )
    for name in numbers:
        glue(name, float("nan"), display=False)
    for name in texts:
        glue(name, Markdown("n/a"), display=False)
