"""The ensemble chapter's picture: one model minus several others, each difference with its interval.

The paired bootstrap that computes the intervals is chapter 12's (helpers.taught.paired_bootstrap,
with chapter 3's paired_difference for accuracy); this module only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def plot_differences(differences: pd.DataFrame, scores: Sequence[str], title: str):
    """One panel per score: each difference with its 95% interval, one colour per set of images.

    `differences` is indexed by (images, rival) and has columns 'S', 'S low', 'S high' per score.
    """
    sets = list(dict.fromkeys(differences.index.get_level_values(0)))
    rivals = list(dict.fromkeys(differences.index.get_level_values(1)))
    fig, axes = plt.subplots(1, len(scores), figsize=(3.8 * len(scores), 0.5 * len(rivals) + 2),
                             sharey=True, squeeze=False)  # fmt: skip
    positions = np.arange(len(rivals))
    for ax, score in zip(axes[0], scores, strict=True):
        for offset, name in enumerate(sets):
            rows = differences.loc[name].reindex(rivals)
            values = rows[score].to_numpy(dtype=float)
            errors = [values - rows[f"{score} low"].to_numpy(dtype=float),
                      rows[f"{score} high"].to_numpy(dtype=float) - values]  # fmt: skip
            shift = (offset - (len(sets) - 1) / 2) * 0.25
            ax.errorbar(values, positions + shift, xerr=errors, fmt="o", capsize=3,
                        color=f"C{offset}", label=name)  # fmt: skip
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set(xlabel=f"{score} difference (95% interval)", title=score)
    axes[0][0].set_yticks(positions, labels=[str(rival) for rival in rivals])
    axes[0][0].invert_yaxis()
    axes[0][0].set_ylabel(differences.index.names[1] or "rival")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(sets), fontsize="small")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08, 1, 1))  # room for the legend below the panels
    return fig
