"""One content hash for the files the store writes, ingest records and the orchestrator
finds again."""

from __future__ import annotations

import hashlib
from pathlib import Path

from nba_mlops.data.store import file_sha256


def test_the_hash_is_the_sha256_of_the_whole_content(tmp_path: Path) -> None:
    # Longer than one read block (1 MiB) and not a multiple of it.
    content = bytes(range(256)) * 5000
    path = tmp_path / "shots.csv"
    path.write_bytes(content)
    assert file_sha256(path) == hashlib.sha256(content).hexdigest()


def test_an_empty_file_has_the_hash_of_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert file_sha256(path) == hashlib.sha256(b"").hexdigest()
