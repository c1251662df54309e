"""Profiles: one place that sets data size, image size, epochs and batch size."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from helpers.paths import artifacts_dir, data_dir

DEFAULT_PROFILE = "full"
ENV_VAR = "BOOK_PROFILE"


@dataclass(frozen=True)
class Profile:
    """Every size the chapters depend on, for one profile."""

    name: str
    faces_per_class: int  # synthetic faces generated per class (before junk is added)
    image_size: int  # side of the square model input, in pixels
    epochs: int
    batch_size: int
    fresh_sample: int  # faces drawn from the generator for chapter 6's fresh-sample check
    seed: int = 42

    @property
    def data(self) -> Path:
        """This profile's data folder."""
        return data_dir(self.name)

    @property
    def artifacts(self) -> Path:
        """This profile's artifacts folder."""
        return artifacts_dir(self.name)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Model input shape (height, width, channels)."""
        return (self.image_size, self.image_size, 3)


PROFILES: dict[str, Profile] = {
    "full": Profile(
        name="full",
        faces_per_class=155,
        image_size=256,
        epochs=20,
        batch_size=32,
        fresh_sample=1000,
    ),
    "smoke": Profile(
        name="smoke",
        faces_per_class=40,
        image_size=64,
        epochs=2,
        batch_size=16,
        fresh_sample=100,
    ),
}


def profile_name(name: str | None = None) -> str:
    """Resolve a profile name: the argument, else $BOOK_PROFILE, else 'full'."""
    chosen = name or os.environ.get(ENV_VAR) or DEFAULT_PROFILE
    if chosen not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown profile {chosen!r}: choose one of {known}")
    return chosen


def get_profile(name: str | None = None) -> Profile:
    """The Profile for a name (see profile_name for how it is resolved)."""
    return PROFILES[profile_name(name)]
