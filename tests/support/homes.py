"""Copies of a home that other test processes may be reading while it is copied."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

# SQLite's files beside a database while a connection has it open: they come and go with
# the connections, so a copy takes the database through SQLite instead.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
_SQLITE_HEADER = b"SQLite format 3\x00"


def copy_home(source: Path, target: Path, *, symlinks: bool = False) -> None:
    """Copy the home ``source`` to ``target``: every file as it is, but each SQLite
    database (the application's, MLflow's) through SQLite's backup, a consistent copy
    even while another process has it open."""
    databases: list[Path] = []

    def not_copied(folder: str, names: list[str]) -> set[str]:
        skipped = {name for name in names if name.endswith(_SQLITE_SIDE_FILES)}
        for name in names:
            path = Path(folder) / name
            if (
                name.endswith(".db")
                and not (symlinks and path.is_symlink())
                and path.is_file()
                and _is_sqlite(path)
            ):
                databases.append(path)
                skipped.add(name)
        return skipped

    shutil.copytree(source, target, symlinks=symlinks, ignore=not_copied)
    for original in databases:
        copied = target / original.relative_to(source)
        with closing(sqlite3.connect(original)) as read, closing(sqlite3.connect(copied)) as out:
            read.backup(out)


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
