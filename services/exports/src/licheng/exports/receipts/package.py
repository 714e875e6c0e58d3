"""Reading a 收訖明細 package: a password-protected ZIP of one JSON per 名冊 plus `SHA.txt`.

Everything is checked before anything is kept (docs/receipts.md): the password opens every
member (ZipCrypto or AES, through pyzipper), `SHA.txt` lists every JSON file and each file's
SHA-256 matches (names and hashes compared case-insensitively), each file name holds exactly one
known 名冊 word, and each JSON has the shape of DOMAIN §4.2. Any failure refuses the whole
package with a `PackageRefused` (a 4xx with a zh-TW message and a stable code) that never
quotes the data (身分證號 and 出生日期 stay out of messages).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

import pyzipper

from licheng.contracts.rosters import RosterCode
from licheng.kit.errors import AppError

SHA_FILE = "sha.txt"
MAX_MEMBER_BYTES = 200 * 1024 * 1024  # one JSON of a large school is a few MB
ID_KEY = "身分證號"
BIRTH_KEY = "出生日期"
INFO_KEY = "名冊資訊"
# The word in a JSON file's name, which is also its top-level list key, and the Licheng 名冊
# it answers (修課紀錄 comes from the 校務系統, not from Licheng: it has no submission).
KIND_ROSTERS: dict[str, RosterCode | None] = {
    "多元表現": RosterCode.PERFORMANCES,
    "課程學習成果": RosterCode.COURSE_OUTCOMES,
    "校內幹部經歷": RosterCode.CADRES,
    "修課紀錄": None,
}


class PackageRefused(AppError):
    """The package is refused as a whole; nothing of it is stored."""

    status_code: ClassVar[int] = 422
    code: ClassVar[str] = "receipt_refused"
    default_message: ClassVar[str] = "收訖明細檔案無法匯入"


@dataclass(frozen=True)
class ReceiptEntry:
    """One student's entry of a 名冊: identifiers (never shown) and records by sheet."""

    position: int  # 1-based, in the file's list
    national_id: str = field(repr=False)
    birth_date: date | None = field(repr=False)  # None when the text could not be read
    sheets: dict[str, list[dict[str, Any]]] = field(repr=False)


@dataclass(frozen=True)
class ReceiptFile:
    """One verified JSON file of the package."""

    name: str
    kind: str
    roster_code: RosterCode | None
    entries: list[ReceiptEntry] = field(repr=False)


@dataclass(frozen=True)
class ReceiptPackage:
    """A verified package: its files and a content hash that ignores how it was zipped."""

    files: list[ReceiptFile]
    content_hash: str

    @property
    def kinds(self) -> list[str]:
        """The 名冊 words present, in the package's order."""
        return [f.kind for f in self.files]


_ROC_DATE = re.compile(r"(\d{2,3})[/.-]?(\d{2})[/.-]?(\d{2})")
_AD_DATE = re.compile(r"(\d{4})[/.-]?(\d{1,2})[/.-]?(\d{1,2})")


def read_birth_date(text: str) -> date | None:
    """A 出生日期 as the central database writes it (西元 `YYYY/MM/DD`, `YYYY-MM-DD`, `YYYYMMDD`,
    a trailing time, or 民國 `YYYMMDD`, `YYY/MM/DD`), or None."""
    value = text.strip().split(" ")[0]
    try:
        if (m := _AD_DATE.fullmatch(value)) and int(m.group(1)) > 1900:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _ROC_DATE.fullmatch(value):
            return date(int(m.group(1)) + 1911, int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


def kind_of(filename: str) -> str:
    """The 名冊 word of a JSON file's name, or refused when there is none (or several)."""
    found = [word for word in KIND_ROSTERS if word in filename]
    if len(found) != 1:
        raise PackageRefused(
            f"無法由檔名「{filename}」判斷名冊類別（須含 多元表現、課程學習成果、修課紀錄 或 "
            "校內幹部經歷 其中之一）",
            code="receipt_unknown_roster",
            detail={"file": filename},
        )
    return found[0]


def _basename(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _read_members(data: bytes, password: str) -> dict[str, bytes]:
    try:
        archive = pyzipper.AESZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, pyzipper.BadZipFile, ValueError, EOFError):
        raise PackageRefused("上傳的檔案不是有效的 ZIP 壓縮檔", code="receipt_not_zip") from None
    members: dict[str, bytes] = {}
    with archive:
        archive.setpassword(password.encode())
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise PackageRefused(
                    f"壓縮檔中的「{info.filename}」過大", code="receipt_member_too_large"
                )
            try:
                members[_basename(info.filename)] = archive.read(info)
            except (RuntimeError, zipfile.BadZipFile, pyzipper.BadZipFile, zlib.error, ValueError):
                # pyzipper says "Bad password" (RuntimeError) or a CRC mismatch after a wrong
                # ZipCrypto key that happened to pass the one-byte check.
                raise PackageRefused(
                    "解壓縮密碼錯誤，無法開啟收訖明細檔案", code="receipt_wrong_password"
                ) from None
            except NotImplementedError:
                raise PackageRefused(
                    "壓縮檔使用了不支援的壓縮方式", code="receipt_not_zip"
                ) from None
    return members


def _read_sha_lines(text: bytes) -> dict[str, str]:
    try:
        decoded = text.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PackageRefused("SHA.txt 不是 UTF-8 文字檔", code="receipt_sha_malformed") from None
    hashes: dict[str, str] = {}
    for number, row in enumerate(csv.reader(io.StringIO(decoded)), start=1):
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        if len(cells) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", cells[1]):
            raise PackageRefused(
                f"SHA.txt 第 {number} 行格式有誤（應為「檔名,SHA-256」）",
                code="receipt_sha_malformed",
                detail={"line": number},
            )
        hashes[_basename(cells[0]).lower()] = cells[1].lower()
    if not hashes:
        raise PackageRefused("SHA.txt 沒有任何檔案的雜湊值", code="receipt_sha_malformed")
    return hashes


def _malformed(filename: str, why: str, **detail: Any) -> PackageRefused:
    return PackageRefused(
        f"「{filename}」的 JSON 內容有誤：{why}",
        code="receipt_malformed_json",
        detail={"file": filename, **detail},
    )


def _parse_file(name: str, kind: str, raw: bytes) -> ReceiptFile:
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _malformed(name, "不是 UTF-8 編碼的有效 JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get(kind), list):
        raise _malformed(name, f"缺少「{kind}」學生清單")
    entries: list[ReceiptEntry] = []
    for position, item in enumerate(document[kind], start=1):
        if not isinstance(item, dict):
            raise _malformed(name, f"第 {position} 位學生的資料不是物件", position=position)
        national_id, born = item.get(ID_KEY), item.get(BIRTH_KEY)
        if not isinstance(national_id, str) or not isinstance(born, str):
            raise _malformed(
                name, f"第 {position} 位學生缺少{ID_KEY}或{BIRTH_KEY}", position=position
            )
        sheets: dict[str, list[dict[str, Any]]] = {}
        for key, value in item.items():
            if key in (ID_KEY, BIRTH_KEY):
                continue
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                raise _malformed(
                    name, f"第 {position} 位學生的「{key}」不是紀錄清單", position=position
                )
            sheets[str(key)] = [
                {str(k): v for k, v in r.items() if k not in (ID_KEY, BIRTH_KEY)} for r in value
            ]
        entries.append(
            ReceiptEntry(
                position=position,
                national_id=national_id,
                birth_date=read_birth_date(born),
                sheets=sheets,
            )
        )
    return ReceiptFile(name=name, kind=kind, roster_code=KIND_ROSTERS[kind], entries=entries)


def read_package(data: bytes, *, password: str) -> ReceiptPackage:
    """Open, verify and parse a package, or refuse it as a whole."""
    members = _read_members(data, password)
    by_lower = {name.lower(): name for name in members}
    sha_name = by_lower.get(SHA_FILE)
    if sha_name is None:
        raise PackageRefused("壓縮檔中缺少 SHA.txt", code="receipt_sha_missing")
    hashes = _read_sha_lines(members[sha_name])
    for listed in hashes:
        if listed not in by_lower:
            raise PackageRefused(
                f"SHA.txt 列出的「{listed}」不在壓縮檔中",
                code="receipt_file_missing",
                detail={"file": listed},
            )
    json_names = sorted(n for n in members if n.lower().endswith(".json"))
    if not json_names:
        raise PackageRefused("壓縮檔中沒有任何名冊 JSON 檔", code="receipt_file_missing")
    files: list[ReceiptFile] = []
    seen_kinds: set[str] = set()
    for name in json_names:
        expected = hashes.get(name.lower())
        if expected is None:
            raise PackageRefused(
                f"「{name}」未列在 SHA.txt 中，無法確認檔案完整",
                code="receipt_file_unlisted",
                detail={"file": name},
            )
        if hashlib.sha256(members[name]).hexdigest() != expected:
            raise PackageRefused(
                f"「{name}」的 SHA-256 與 SHA.txt 不符，檔案可能已損毀或遭修改",
                code="receipt_hash_mismatch",
                detail={"file": name},
            )
        kind = kind_of(name)
        if kind in seen_kinds:
            raise PackageRefused(f"壓縮檔中有兩個「{kind}」名冊檔", code="receipt_duplicate_roster")
        seen_kinds.add(kind)
        files.append(_parse_file(name, kind, members[name]))
    listing = "".join(f"{n},{h}\n" for n, h in sorted(hashes.items()))
    return ReceiptPackage(files=files, content_hash=hashlib.sha256(listing.encode()).hexdigest())
