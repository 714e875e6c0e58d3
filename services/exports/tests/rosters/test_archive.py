"""The 名冊 package: a deterministic ZIP with a SHA.txt that checks every entry."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from licheng.exports.rosters.archive import RosterArchiveWriter, verify_sha_txt

FIXED = datetime(2026, 12, 1, 8, 30, 10, tzinfo=UTC)


def _chunks(count: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for n in range(count):
        yield bytes([n % 256]) * size


def _package(tmp_path: Path, name: str) -> tuple[Path, str]:
    source = tmp_path / "roster.xlsx"
    source.write_bytes(b"PK workbook bytes" * 1000)
    path = tmp_path / name
    archive = RosterArchiveWriter(path, fixed_time=FIXED)
    archive.add_file("學生自填多元表現名冊.xlsx", source)
    archive.add_stream("attachments/b-1.pdf", _chunks(20))
    archive.add_stream("attachments/a-1.jpg", iter([b"jpg"]))
    return path, archive.close()


def test_sha_txt_lists_every_entry_in_added_order(tmp_path: Path) -> None:
    path, content_hash = _package(tmp_path, "package.zip")
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [
            "學生自填多元表現名冊.xlsx", "attachments/b-1.pdf", "attachments/a-1.jpg", "SHA.txt"
        ]  # fmt: skip
        expected = "".join(
            f"{hashlib.sha256(archive.read(n)).hexdigest()}  {n}\n" for n in archive.namelist()[:-1]
        )
        assert archive.read("SHA.txt").decode("utf-8") == expected
        assert archive.read("attachments/b-1.pdf") == b"".join(_chunks(20))
        assert {i.date_time for i in archive.infolist()} == {(2026, 12, 1, 8, 30, 10)}
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    assert content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert verify_sha_txt(path) == []


def test_the_same_entries_give_the_same_package(tmp_path: Path) -> None:
    first, first_hash = _package(tmp_path, "first.zip")
    second, second_hash = _package(tmp_path, "second.zip")
    assert first.read_bytes() == second.read_bytes()
    assert first_hash == second_hash


def test_add_stream_streams_and_returns_the_entry_hash(tmp_path: Path) -> None:
    consumed: list[int] = []

    def chunks() -> Iterator[bytes]:
        for n, chunk in enumerate(_chunks(32)):
            consumed.append(n)
            yield chunk

    writer = RosterArchiveWriter(tmp_path / "p.zip", fixed_time=FIXED)
    digest = writer.add_stream("attachments/x-1.mp4", chunks())
    writer.close()
    assert consumed == list(range(32))
    assert digest == hashlib.sha256(b"".join(_chunks(32))).hexdigest()


def test_a_tampered_entry_is_found(tmp_path: Path) -> None:
    path, _ = _package(tmp_path, "package.zip")
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, b"forged" if info.filename == "attachments/a-1.jpg" else data)
        target.writestr("extra.txt", b"not listed")
    assert verify_sha_txt(tampered) == ["attachments/a-1.jpg", "extra.txt"]


def test_a_package_without_sha_txt_or_with_a_missing_entry(tmp_path: Path) -> None:
    path, _ = _package(tmp_path, "package.zip")
    bare = tmp_path / "bare.zip"
    missing = tmp_path / "missing.zip"
    with zipfile.ZipFile(path) as source:
        with zipfile.ZipFile(bare, "w") as target:
            target.writestr("x.txt", b"x")
        with zipfile.ZipFile(missing, "w") as target:
            for info in source.infolist():
                if info.filename != "attachments/b-1.pdf":
                    target.writestr(info, source.read(info))
    assert verify_sha_txt(bare) == ["SHA.txt"]
    assert verify_sha_txt(missing) == ["attachments/b-1.pdf"]


@pytest.mark.parametrize("name", ["SHA.txt", "../x", "/abs", "a\\b", "a//b", ""])
def test_unsafe_or_reserved_names_are_refused(tmp_path: Path, name: str) -> None:
    writer = RosterArchiveWriter(tmp_path / "p.zip", fixed_time=FIXED)
    with pytest.raises(ValueError, match="entry name"):
        writer.add_stream(name, iter([b"x"]))
    writer.abandon()
    assert not (tmp_path / "p.zip").exists()


def test_an_entry_name_is_added_once(tmp_path: Path) -> None:
    writer = RosterArchiveWriter(tmp_path / "p.zip", fixed_time=FIXED)
    writer.add_stream("a.pdf", iter([b"x"]))
    with pytest.raises(ValueError, match="duplicate"):
        writer.add_stream("a.pdf", iter([b"y"]))
    writer.close()
