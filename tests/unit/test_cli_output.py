from __future__ import annotations

import pytest

from mecm.cli.output import without_password


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://mecm:s3cret@127.0.0.1:5432/mecm", "postgresql://mecm:***@127.0.0.1:5432/mecm"),
    ("postgresql://mecm@127.0.0.1/mecm", "postgresql://mecm@127.0.0.1/mecm"),
    ("sqlite:///./var/mecm.db", "sqlite:///./var/mecm.db"),
    ("postgresql:/s3cret", "(a database URL that cannot be read)"),
])
def test_a_database_url_is_printed_without_its_password(url: str, shown: str) -> None:
    assert without_password(url) == shown
