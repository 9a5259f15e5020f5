"""What a ``database_url`` names, read without SQLAlchemy (the CLI's fast path, store/direct.py)."""

from __future__ import annotations

from pathlib import Path


def sqlite_path(database_url: str) -> Path | None:
    prefix = "sqlite:///"
    if database_url.startswith(prefix):
        return Path(database_url[len(prefix):])
    return None


def is_postgresql(database_url: str) -> bool:
    return database_url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")
