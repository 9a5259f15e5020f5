"""A database driver's error in one line, for a log line or a command's refusal: the driver's own
words (psycopg's come on two lines), without SQLAlchemy's wrapping and its link to a help page."""

from __future__ import annotations


def one_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    words = "; ".join(line.strip() for line in str(cause).splitlines() if line.strip())
    return words or cause.__class__.__name__


def database_away(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps: the group-commit writer's StoreError) says the database
    cannot be used now (unreachable, connection lost, disk full): an operational failure that passes,
    not a bug of the call."""
    from sqlalchemy.exc import OperationalError

    return isinstance(error, OperationalError) or isinstance(error.__cause__, OperationalError)
