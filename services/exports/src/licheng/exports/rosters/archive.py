"""The 名冊 package: a deterministic ZIP of the workbook and the attachments, with `SHA.txt`.

Deterministic means the same entries added in the same order give the same bytes (with the
same zlib): every entry has the same fixed time (`fixed_time` in UTC, the ZIP format's 2-second
resolution), the same attributes (a regular file, mode 0644, made on Unix), DEFLATE at zlib's
default level, and entries stay in the order they were added. Entries are streamed through in
chunks, never held whole in memory; each one's SHA-256 is computed while it is written.

`close()` adds `SHA.txt` as the last entry and returns the SHA-256 of the whole ZIP file (the
content hash a submission records). `SHA.txt` is in `sha256sum` format, one line per entry in
the order the entries were added: `{sha256 hex}  {name}\\n` (two spaces), so `sha256sum -c
SHA.txt` checks an unpacked package. `verify_sha_txt` checks a package against its `SHA.txt`.

A single entry must stay under 4 GiB (the writer does not force ZIP64 on streamed entries of
unknown size); the package as a whole may be larger.
"""

from __future__ import annotations

import contextlib
import hashlib
import stat
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Self

SHA_FILE = "SHA.txt"
CHUNK_SIZE = 1024 * 1024
ENTRY_MODE = (stat.S_IFREG | 0o644) << 16
UNIX = 3
MIN_ZIP_YEAR = 1980

DateTime = tuple[int, int, int, int, int, int]


def zip_date_time(moment: datetime) -> DateTime:
    """A moment as a ZIP entry time: its UTC fields (a naive moment is taken as UTC)."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    if utc.year < MIN_ZIP_YEAR:
        raise ValueError("a ZIP entry time cannot be before 1980")
    return (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)


def zip_entry(name: str, date_time: DateTime) -> zipfile.ZipInfo:
    """A ZIP entry header with nothing that varies between runs: fixed time and attributes."""
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = UNIX
    info.external_attr = ENTRY_MODE
    return info


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            yield chunk


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    for chunk in _file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def _check_name(name: str) -> None:
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise ValueError(f"invalid entry name {name!r}")


class RosterArchiveWriter:
    """Writes the 名冊 ZIP at `path`, entry by entry; `close()` adds `SHA.txt` (synchronous)."""

    def __init__(self, path: Path, *, fixed_time: datetime) -> None:
        self.path = path
        self._date_time = zip_date_time(fixed_time)
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._hashes: list[tuple[str, str]] = []
        self._names: set[str] = set()
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.abandon()

    @property
    def entries(self) -> list[tuple[str, str]]:
        """The (name, SHA-256 hex) of every entry added so far, in order."""
        return list(self._hashes)

    def add_stream(self, name: str, chunks: Iterable[bytes]) -> str:
        """Add an entry from chunks of bytes, streamed; its SHA-256 (hex)."""
        if self._closed:
            raise ValueError("the archive is closed")
        _check_name(name)
        if name in self._names or name == SHA_FILE:
            raise ValueError(f"duplicate entry name {name!r}")
        digest = hashlib.sha256()
        target: IO[bytes]
        with self._zip.open(zip_entry(name, self._date_time), "w") as target:
            for chunk in chunks:
                digest.update(chunk)
                target.write(chunk)
        self._names.add(name)
        self._hashes.append((name, digest.hexdigest()))
        return digest.hexdigest()

    def add_file(self, name: str, path: Path) -> str:
        """Add a file from disk as an entry, streamed; its SHA-256 (hex)."""
        return self.add_stream(name, _file_chunks(path))

    def close(self) -> str:
        """Add `SHA.txt`, finish the ZIP and return the SHA-256 (hex) of the whole file."""
        if self._closed:
            raise ValueError("the archive is closed")
        listing = "".join(f"{digest}  {name}\n" for name, digest in self._hashes)
        self._zip.writestr(zip_entry(SHA_FILE, self._date_time), listing.encode("utf-8"))
        self._zip.close()
        self._closed = True
        return file_sha256(self.path)

    def abandon(self) -> None:
        """Give up on a package half written: close it and remove the file."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError, ValueError, zipfile.BadZipFile):
                self._zip.close()
        self.path.unlink(missing_ok=True)


def _entry_sha256(archive: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with archive.open(name) as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha_txt(zip_path: Path) -> list[str]:
    """The entries whose content does not match `SHA.txt`, or that only one side lists.

    An empty list means every entry but `SHA.txt` is listed once with its right SHA-256; a
    package without `SHA.txt` gives `["SHA.txt"]`.
    """
    with zipfile.ZipFile(zip_path) as archive:
        names = [n for n in archive.namelist() if n != SHA_FILE]
        if SHA_FILE not in archive.namelist():
            return [SHA_FILE]
        listed: dict[str, str] = {}
        problems: list[str] = []
        for line in archive.read(SHA_FILE).decode("utf-8").splitlines():
            digest, separator, name = line.partition("  ")
            if not separator or len(digest) != 64 or name in listed:
                problems.append(name or line)
                continue
            listed[name] = digest.lower()
        for name in names:
            expected = listed.pop(name, None)
            if expected is None or _entry_sha256(archive, name) != expected:
                problems.append(name)
        problems.extend(listed)  # listed but not in the package
    return problems
