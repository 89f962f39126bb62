"""``ingest`` and ``simulate``: bring shot files into the store."""

from __future__ import annotations

from nba_mlops.cli.app import app  # noqa: F401
