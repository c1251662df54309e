"""Tooling of the "Happy or Sad?" book: the runner, the benchmarks, the performance page.

The chapters never import this package; it imports `helpers`, never the other way round.
"""

import sys


def skip_slow_imports() -> None:
    """Keep jsonschema from importing rfc3987_syntax, which builds a grammar when imported.

    nbformat validates notebooks with jsonschema, whose format checker imports rfc3987_syntax
    (installed with JupyterLab) to check IRI strings; building its grammar takes 1.4 s, measured
    here, in every process that reads a notebook. No notebook schema uses that format, so the
    runner's processes record the module as absent.
    """
    sys.modules.setdefault("rfc3987_syntax", None)
