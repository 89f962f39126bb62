"""The ``nba-mlops`` command line: thin commands over the pipeline stages."""

from nba_mlops.cli import data as _data  # noqa: F401  (registers commands)
from nba_mlops.cli.app import app

__all__ = ["app"]
