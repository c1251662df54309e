"""Tooling of the "Happy or Sad?" book: the runner, the benchmarks, the performance page.

The chapters never import this package; it imports `helpers`, never the other way round.
"""
