"""Shared by the tests and the doctests: figures are drawn off screen (Agg)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
