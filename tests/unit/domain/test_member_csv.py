"""Reading a CSV file of list members: every bad line named, the first one refusing an import."""

from __future__ import annotations

import pytest

from mecm.domain.member_csv import read_members


def test_every_bad_line_is_named_and_the_good_ones_are_read() -> None:
    read = read_members("Number,First_Name\n+58 414 555 0001,Ana\nnot a number,Bob\n584145550002,Cruz,extra\n"
                        "0058-414-555-0003,Dora\n")
    assert read.columns == ["number", "first_name"]
    assert read.lines == 4
    assert list(read.members) == ["584145550001", "584145550003"]
    assert read.members["584145550001"] == {"first_name": "Ana"}
    assert [line for line, _ in read.errors] == [3, 4]
    assert "more cells than the header has columns" in read.errors[1][1]
    refusal = read.refusal()
    assert refusal is not None and refusal.name == "csv" and refusal.reason.startswith("line 3: ")


def test_a_number_given_twice_keeps_its_last_lines_fields() -> None:
    read = read_members("number,city\n584145550001,Caracas\n+584145550001,Maracay\n")
    assert read.members == {"584145550001": {"city": "Maracay"}} and read.lines == 2
    assert read.refusal() is None


@pytest.mark.parametrize(("content", "words"), [
    ("", "header with a 'number' column"),
    ("phone,name\n584145550001,Ana\n", "header with a 'number' column"),
    ("number,First Name\n584145550001,Ana\n", "column 'first name' is not 1 to 40 of a-z and _"),
])
def test_a_bad_header_is_one_error_on_line_1(content: str, words: str) -> None:
    read = read_members(content)
    assert [line for line, _ in read.errors] == [1] and words in read.errors[0][1] and not read.members
    assert read.refusal().reason == f"line 1: {read.errors[0][1]}"
