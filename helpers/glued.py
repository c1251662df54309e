"""Glue a chapter's results for its prose: `helpers.glue_all({...})`, once per analysis result.

A chapter writes its sentences in the Markdown and takes its numbers from the run with myst_nb's
glue roles (``{glue:text}`best_val_loss:.3f` ``); the runner checks the chapter's claims
(`happy_or_sad.claims` in its front matter) against the same glued values (booktools/claims.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """numpy scalars as Python numbers (also inside lists, tuples and dicts); the rest unchanged.

    The glued value's text is its repr, so `np.float64(0.5)` would read as code, not 0.5.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    return value


def glue_all(values: dict[str, Any]) -> dict[str, Any]:
    """Glue every key of `values` (display=False), numpy scalars converted; return what was glued.

    Call it in a cell tagged `remove-cell`, once per analysis result:
    `helpers.glue_all({"baseline_val_loss": best, "augmented_val_loss": augmented_best})`.
    """
    from myst_nb import glue

    converted = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"glued names are identifiers (a claim's check uses them): {name!r}")
        converted[name] = plain(value)
        glue(name, converted[name], display=False)
    return converted
