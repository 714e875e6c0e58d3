"""Roster cells: text that cannot run as a formula or hide what it says, dates and numbers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from licheng.exports.rosters.cells import cell, iso_date, neutralise


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'=1"),
        ("\r=1", "'=1"),
        ("\n=1", "'\n=1"),
        ("\u202e=1", "'=1"),  # a bidi override in front of a formula
        ("\x00=1", "'=1"),
    ],
)
def test_a_text_that_a_spreadsheet_would_run_is_quoted(given: str, written: str) -> None:
    assert neutralise(given) == written


@pytest.mark.parametrize(
    "text", ["國語文", "A123", "1+1", "成果 = 作品", "user@example.org", "", "'=already"]
)
def test_ordinary_text_is_kept_as_it_is(text: str) -> None:
    assert neutralise(text) == text


def test_controls_are_removed_and_line_feeds_kept() -> None:
    assert neutralise("第一行\r\n第二行\x07\x1b[31m\x7f\x85\x9f") == "第一行\n第二行[31m"
    assert neutralise("tab\there") == "tabhere"


def test_bidi_controls_are_removed() -> None:
    bidi = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert neutralise(f"exe.{bidi}txt") == "exe.txt"
    assert neutralise("\u202egnp.exe") == "gnp.exe"


def test_characters_xml_cannot_carry_are_removed() -> None:
    assert neutralise("a\ud800b\ufffec\uffff") == "abc"


def test_a_text_of_controls_only_becomes_empty() -> None:
    assert neutralise("\t\r") == ""


def test_numbers_are_numbers_and_never_quoted() -> None:
    assert cell(-1) == -1
    assert cell(2.5) == 2.5
    assert cell(Decimal("-0.5")) == Decimal("-0.5")
    assert cell(None) is None
    assert cell("-1") == "'-1"  # the same as text is quoted


def test_dates_are_written_as_gregorian_text() -> None:
    assert cell(date(2026, 9, 1)) == "2026/09/01"
    assert iso_date("2027-01-31") == "2027/01/31"
    assert iso_date(None) is None
    assert iso_date("") is None


@pytest.mark.parametrize("value", [True, datetime(2026, 9, 1, 8, 0), float("nan")])
def test_values_whose_text_is_ambiguous_are_refused(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        cell(value)  # type: ignore[arg-type]
