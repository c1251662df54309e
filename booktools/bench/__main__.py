"""`python -m booktools.bench`: see booktools/bench/__init__.py."""

import sys

from booktools.bench.cli import main

sys.exit(main())
