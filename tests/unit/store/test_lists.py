"""Lists on a real database: numbers written as people write them are imported and added; a bad one
refuses the whole file, naming its line."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from mecm.errors import InvalidParameter
from mecm.store import admin, lists


def new_list(engine: Engine) -> int:
    with engine.begin() as c:
        ws = admin.create_workspace(c, "acme")["instance_id"]
        return lists.create_list(c, ws, "all")["id"]


def members(engine: Engine, list_id: int) -> list[tuple[str, str]]:
    with engine.connect() as c:
        return lists.members_after(c, list_id, "", 100)


def test_an_import_takes_numbers_with_spaces_dashes_dots_and_parentheses(engine: Engine) -> None:
    list_id = new_list(engine)
    content = ("number,name\n+58 414 555 0001,Ana\n+58-414-555-0002,Luis\n+58 (414) 555.0003,Eva\n"
               "584145550004,Juan\n")
    with engine.begin() as c:
        assert lists.import_csv(c, list_id, content)["imported"] == 4
    assert [number for number, _ in members(engine, list_id)] == [
        "584145550001", "584145550002", "584145550003", "584145550004"]


def test_a_bad_number_refuses_the_file_naming_its_line_and_writes_nothing(engine: Engine) -> None:
    list_id = new_list(engine)
    content = "number,name\n+58 414 555 0001,Ana\n+58 414 555 0002,Luis\n+58 414 CALL ME,Eva\n"
    with pytest.raises(InvalidParameter) as caught, engine.begin() as c:
        lists.import_csv(c, list_id, content)
    assert caught.value.name == "csv"
    assert caught.value.reason.startswith("line 4: '+58 414 CALL ME' is not a phone number")
    assert members(engine, list_id) == []


def test_a_number_too_short_is_refused_as_not_valid_naming_its_line(engine: Engine) -> None:
    list_id = new_list(engine)
    with pytest.raises(InvalidParameter) as caught, engine.begin() as c:
        lists.import_csv(c, list_id, "number\n+58 414 555 0001\n+58 414\n")
    assert caught.value.reason.startswith("line 3: '+58 414' is not a valid mobile number")


def test_an_admin_adds_and_removes_a_dashed_number(engine: Engine) -> None:
    list_id = new_list(engine)
    with engine.begin() as c:
        assert lists.add_member(c, list_id, "+58-414-555-0001")["number"] == "584145550001"
    with engine.begin() as c:
        assert lists.remove_member(c, list_id, "+58 414 555 0001")["removed"]
    assert members(engine, list_id) == []
