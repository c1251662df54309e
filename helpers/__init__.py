"""Helpers for the 'Happy or Sad?' book: the plumbing the chapters call, grouped by pipeline step.

Importing the package quietens TensorFlow's logs, so import it before TensorFlow or Keras.
"""

from helpers.env import quiet_logs

quiet_logs()

from helpers.env import seed_everything, setup  # noqa: E402
from helpers.glued import glue_all  # noqa: E402
from helpers.paths import ROOT, artifacts_dir, data_dir  # noqa: E402
from helpers.profiles import PROFILES, Profile, get_profile  # noqa: E402

__all__ = [
    "PROFILES",
    "ROOT",
    "Profile",
    "artifacts_dir",
    "data_dir",
    "get_profile",
    "glue_all",
    "seed_everything",
    "setup",
]
