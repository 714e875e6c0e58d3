"""收訖明細: import (ZipCrypto and AES, refusals, idempotence), matching through identity, the
comparison with what was submitted, confirmation and reports inside the window, answers, the
歷程確認單 PDF, status counts; and no 身分證號 or 出生日期 in logs, events or the database.

Identity runs for real over HTTP (its `/internal/v1/students/match` with a service token of the
suite's issuer); exports is the ASGI app of the conftest on a migrated database (both engines).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import openpyxl
import pypdf
import pytest
import pyzipper
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from licheng.exports.models import (
    ReceiptImport,
    ReceiptRecord,
    ReceiptReport,
    Submission,
    SubmissionState,
    SubmittedRecord,
)
from licheng.exports.receipts.matching import IdentityMatcher
from licheng.exports.receipts.repository import keep_submitted_rows
from licheng.exports.rosters.build import SubmittedRow
from licheng.exports.rosters.layout import IDENTIFIER_COLUMNS, Identifiers, outcome_row
from licheng.identity.app import create_app as create_identity
from licheng.identity.cli import MIGRATIONS_DIR as IDENTITY_MIGRATIONS
from licheng.identity.settings import Settings as IdentitySettings
from licheng.kit.roster import KnownClass, KnownPerson, PersonKind
from licheng.kit.timeutil import utcnow
from licheng.testing.apps import service_settings, serving
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.services import ServiceApi

ID_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"
PASSWORD = "收訖-Pa55"
YEAR, SEMESTER = 114, 1


def valid_national_id(letter: str, body: str) -> str:
    """A 身分證號 with its check digit (computed independently of identity's validator)."""
    code = ID_LETTERS.index(letter) + 10
    digits = [code // 10, code % 10, *(int(c) for c in body)]
    total = sum(w * d for w, d in zip([1, 9, 8, 7, 6, 5, 4, 3, 2, 1], digits, strict=True))
    return f"{letter}{body}{(10 - total % 10) % 10}"


STUDENTS = {  # 學號 → (身分證號, 出生日期, 姓名)
    "110001": (valid_national_id("F", "13110409"), "2009-03-14", "林小明"),
    "110002": (valid_national_id("K", "22457718"), "2008-11-30", "吳小華"),
}
STRANGER = (valid_national_id("A", "12345678"), "2009-01-01")


# ZIP writers ----------------------------------------------------------------------------------


def _crc_step(crc: int, byte: int) -> int:
    return zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


class _ZipCryptoKeys:
    """The traditional PKWARE stream cipher (APPNOTE 6.1), to write ZipCrypto in the test."""

    def __init__(self, password: bytes) -> None:
        self.k0, self.k1, self.k2 = 0x12345678, 0x23456789, 0x34567890
        for byte in password:
            self.update(byte)

    def update(self, byte: int) -> None:
        self.k0 = _crc_step(self.k0, byte)
        self.k1 = ((self.k1 + (self.k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        self.k2 = _crc_step(self.k2, self.k1 >> 24)

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            t = (self.k2 | 2) & 0xFFFF
            out.append(byte ^ (((t * (t ^ 1)) >> 8) & 0xFF))
            self.update(byte)
        return bytes(out)


def zipcrypto_zip(files: dict[str, bytes], password: str) -> bytes:
    """A ZIP of stored entries encrypted with ZipCrypto (what many school tools still write)."""
    out = io.BytesIO()
    central: list[bytes] = []
    flags, mtime, mdate = 0x1 | 0x800, 0, (2025 - 1980) << 9 | 1 << 5 | 1
    for name, data in files.items():
        crc = zlib.crc32(data)
        keys = _ZipCryptoKeys(password.encode())
        sealed = keys.encrypt(os.urandom(11) + bytes([crc >> 24]) + data)
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 0, mtime, mdate, crc,
                              len(sealed), len(data), len(encoded), 0))  # fmt: skip
        out.write(encoded + sealed)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                flags,
                0,
                mtime,
                mdate,
                crc,
                len(sealed),
                len(data),
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                          out.tell() - start, start, 0))  # fmt: skip
    return out.getvalue()


def aes_zip(files: dict[str, bytes], password: str) -> bytes:
    """A WinZip-AES ZIP, as 國教署's packages may come."""
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(password.encode())
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def outcome_record(subject: str = "國語文", brief: str = "一份報告") -> dict[str, Any]:
    return {
        "開課年級": 1,
        "課程代碼": "114011302H11101A1000000000",
        "科目名稱": subject,
        "修課學分": 4,
        "實際修課學年度": YEAR,
        "實際修課學期": SEMESTER,
        "成果簡述": brief,
    }


def receipt_json(entries: list[dict[str, Any]], kind: str = "課程學習成果") -> bytes:
    """A receipt JSON as the central database writes it: UTF-8 with a BOM."""
    document = {"名冊資訊": {"學年度": YEAR, "學期": SEMESTER}, kind: entries}
    return "\ufeff".encode() + json.dumps(document, ensure_ascii=False).encode()


def course_entries() -> list[dict[str, Any]]:
    """110001's record differs in 科目名稱 from what was submitted; the stranger matches none."""
    first, second = STUDENTS["110001"], STUDENTS["110002"]
    return [
        {"身分證號": first[0], "出生日期": first[1].replace("-", "/"),
         "學期課程學習成果": [outcome_record(subject="國文")]},
        {"身分證號": second[0].lower(), "出生日期": "0971130",  # 民國 and lower case still match
         "學期課程學習成果": [outcome_record(brief="實驗報告"), outcome_record(brief="第二份")]},
        {"身分證號": STRANGER[0], "出生日期": STRANGER[1], "學期課程學習成果": [outcome_record()]},
    ]  # fmt: skip


def package_files(json_files: dict[str, bytes], *, sha_case: str = "upper") -> dict[str, bytes]:
    """The JSON files plus SHA.txt (names and hashes in another case than the files)."""
    lines = []
    for name, data in json_files.items():
        digest = hashlib.sha256(data).hexdigest()
        lines.append(f"{name.upper() if sha_case == 'upper' else name},{digest.upper()}")
    return {**json_files, "SHA.txt": ("\r\n".join(lines) + "\r\n").encode()}


COURSE_FILE = "011302_114_1_課程學習成果.json"


# The environment ------------------------------------------------------------------------------


class ServiceTokens:
    """Service-account tokens of the suite's issuer, as Keycloak's `licheng-exports` signs."""

    def __init__(self, issuer: TestIssuer) -> None:
        self.issuer = issuer

    async def token(self) -> str:
        return self.issuer.token(roles=["service"], azp="licheng-exports")


@dataclass
class Env:
    """Identity with the school's students, exports wired to it, and who is who."""

    api: ServiceApi
    identity_url: str
    students: dict[str, uuid.UUID]
    homeroom: uuid.UUID
    submitter: uuid.UUID = field(default_factory=uuid.uuid4)

    def student(self, no: str) -> dict[str, str]:
        return self.api.as_roles("student", person_id=self.students[no])

    def course_submitter(self) -> dict[str, str]:
        return self.api.as_roles("course_submitter", person_id=self.submitter)

    def teacher(self) -> dict[str, str]:
        return self.api.as_roles("homeroom_teacher", person_id=self.homeroom)

    async def upload(self, data: bytes, *, password: str = PASSWORD, headers: Any = None,
                     name: str = "receipt.zip") -> httpx.Response:  # fmt: skip
        return await self.api.client.post(
            f"{self.api.base}/receipts/imports",
            files={"file": (name, data, "application/zip")},
            data={"password": password, "academic_year": str(YEAR), "semester": str(SEMESTER)},
            headers=headers or self.course_submitter(),
        )

    async def add(self, *rows: Any) -> None:
        async with self.api.app.state.session_factory() as session:
            for row in rows:
                await session.merge(row)
            await session.commit()

    async def count(self, model: type[SQLModel]) -> int:
        return await self.api.count(model)

    async def submitted(self) -> Submission:
        """A completed submission of 名冊 26 for the term, its rows kept as the worker does."""
        submission = Submission(
            school_code=self.api.school, roster_code="26", academic_year=YEAR,
            semester=SEMESTER, state=SubmissionState.COMPLETED, finished_at=utcnow(),
            content_hash="0" * 64,
        )  # fmt: skip
        rows = []
        for no, subject, brief in (("110001", "國語文", "一份報告"),
                                   ("110002", "國語文", "實驗報告")):  # fmt: skip
            who = Identifiers(
                national_id=STUDENTS[no][0], birth_date=date.fromisoformat(STUDENTS[no][1])
            )
            record = _Outcome(subject_name=subject, brief=brief)
            sheet, cells = outcome_row(record, who=who, attachments=[])
            rows.append(SubmittedRow(self.students[no], sheet, cells[len(IDENTIFIER_COLUMNS) :]))
        async with self.api.app.state.session_factory() as session:
            session.add(submission)
            keep_submitted_rows(session, submission=submission, rows=rows)
            await session.commit()
        return submission


@dataclass
class _Outcome:
    subject_name: str
    brief: str
    academic_year: int = YEAR
    semester: int = SEMESTER
    video_url: str | None = None
    course_code: str | None = "114011302H11101A1000000000"
    credits: int | None = 4
    grade: int | None = 1


@pytest.fixture
async def identity_database(migrated_database: MigratedDatabaseFactory) -> str:
    return await migrated_database(IDENTITY_MIGRATIONS, "receipts_identity")


@pytest.fixture
async def env(
    exports_api: ServiceApi, infra: TestInfra, identity_database: str, issuer: TestIssuer
) -> AsyncIterator[Env]:
    identity = create_identity(
        service_settings(IdentitySettings, infra=infra, database_url=identity_database,
                         jwks_url=issuer.jwks_url, issuer=issuer.issuer)
    )  # fmt: skip
    school = exports_api.school
    async with serving(identity) as identity_url, httpx.AsyncClient(timeout=30) as http:
        created = await http.post(
            f"{identity_url}/api/identity/v1/schools",
            headers={"authorization": f"Bearer {issuer.token(groups=['/district/operators'])}"},
            json={"code": school, "name": "測試高中", "academic_year": YEAR, "semester": SEMESTER,
                  "admin": {"staff_no": "A1", "name": "管理者"}},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        admin = {"authorization": f"Bearer {issuer.token(groups=[f'/schools/{school}/admin'])}"}
        api = f"{identity_url}/api/identity/v1/schools/{school}"
        students = "\n".join(
            ["學號,姓名,班級,座號,身分證號,出生日期,在籍狀態"]
            + [f"{no},{name},101,{n + 1},{nid},{born},在籍"
               for n, (no, (nid, born, name)) in enumerate(STUDENTS.items())]
        )  # fmt: skip
        for kind, text in (("staff", "教師編號,姓名\nT1,王老師\n"),
                           ("classes", "班級代碼,年級,班級名稱,導師\n101,1,普一甲,T1\n"),
                           ("students", students)):  # fmt: skip
            response = await http.post(
                f"{api}/imports/{kind}", files={"file": (f"{kind}.csv", text.encode())},
                headers=admin,
            )  # fmt: skip
            assert response.status_code == 200, response.text
        listed = (await http.get(f"{api}/students", headers=admin)).json()["items"]
        ids = {p["local_no"]: uuid.UUID(p["id"]) for p in listed}
        exports_api.app.state.student_matcher = IdentityMatcher(
            identity_url=identity_url, tokens=ServiceTokens(issuer)
        )
        staff = (await http.get(f"{api}/staff", headers=admin)).json()["items"]
        homeroom = next(uuid.UUID(p["id"]) for p in staff if p["local_no"] == "T1")
        environment = Env(exports_api, identity_url, ids, homeroom)

        # The read model as identity's events leave it. The suite's consumer may bring the same
        # rows at any moment (and with the same values): merge, and retry a lost race.
        for attempt in range(10):
            try:
                await environment.add(
                    *[KnownPerson(id=ids[no], school_code=school, kind=PersonKind.STUDENT,
                                  local_no=no, name=name, class_code="101", seat_no=n + 1,
                                  status="在籍")
                      for n, (no, (_, _, name)) in enumerate(STUDENTS.items())],
                    KnownClass(school_code=school, class_code="101", grade=1,
                               homeroom_person_id=homeroom),
                )  # fmt: skip
                break
            except sa.exc.DBAPIError:
                assert attempt < 9
                await asyncio.sleep(0.2)
        yield environment


async def dump_database(api: ServiceApi) -> str:
    """Every row of every table of the exports database, as text."""
    texts: list[str] = []
    async with api.app.state.session_factory() as session:
        names = await session.run_sync(lambda s: sa.inspect(s.connection()).get_table_names())
        for name in names:
            connection = await session.connection()
            rows = (
                await connection.execute(
                    sa.select(sa.literal_column("*")).select_from(sa.table(name))
                )
            ).all()
            texts.extend(repr(tuple(r)) for r in rows)
    assert "receipt_record" in names
    return "\n".join(texts)


def assert_no_identifiers(text: str) -> None:
    for national_id, born, _ in STUDENTS.values():
        for value in (national_id, national_id.lower(), born, born.replace("-", "/")):
            assert value not in text
    assert STRANGER[0] not in text


# Import -------------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", [zipcrypto_zip, aes_zip], ids=["zipcrypto", "aes"])
async def test_a_package_imports_matches_students_and_reimport_changes_nothing(
    env: Env, writer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = writer(package_files({COURSE_FILE: receipt_json(course_entries())}), PASSWORD)
    capsys.readouterr()
    imported = await env.upload(data)
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["already_imported"] is False
    assert body["roster_kinds"] == ["課程學習成果"]
    assert body["counts"] == {"entries": 3, "students": 2, "records": 3, "unmatched": 1}
    assert body["unmatched"] == [
        {"file": COURSE_FILE, "kind": "課程學習成果", "position": 3, "reason": "no_student"}
    ]
    async with env.api.app.state.session_factory() as session:
        records = (await session.exec(select(ReceiptRecord))).all()
    assert sorted((r.student_id, r.fields["成果簡述"]) for r in records) == sorted(
        [(env.students["110001"], "一份報告"), (env.students["110002"], "實驗報告"),
         (env.students["110002"], "第二份")]
    )  # fmt: skip
    again = await env.upload(data)
    assert again.status_code == 200
    assert again.json()["already_imported"] is True
    assert again.json()["id"] == body["id"]
    assert await env.count(ReceiptImport) == 1
    assert await env.count(ReceiptRecord) == 3
    # Identifiers: not in the logs, not in the events or audit rows, not in any column.
    logged = capsys.readouterr().out
    assert "receipts.matched" in logged  # the logs were captured
    assert_no_identifiers(logged)
    assert_no_identifiers(await dump_database(env.api))
    listed = await env.api.client.get(
        f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/imports", headers=env.course_submitter()
    )
    assert [i["counts"]["unmatched"] for i in listed.json()["items"]] == [1]


def _flipped(data: bytes) -> bytes:
    index = data.index("國文".encode())
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("flipped_byte", "receipt_hash_mismatch"),
        ("wrong_password", "receipt_wrong_password"),
        ("unknown_roster", "receipt_unknown_roster"),
        ("malformed_json", "receipt_malformed_json"),
        ("missing_file", "receipt_file_missing"),
        ("no_sha", "receipt_sha_missing"),
        ("not_a_zip", "receipt_not_zip"),
    ],
)
async def test_a_bad_package_is_refused_whole_and_nothing_is_stored(
    env: Env, case: str, expected: str
) -> None:
    good = receipt_json(course_entries())
    files = package_files({COURSE_FILE: good, "011302_114_1_校內幹部經歷.json": receipt_json(
        [], kind="校內幹部經歷")})  # fmt: skip
    password = PASSWORD
    if case == "flipped_byte":  # SHA.txt lists the good file; the ZIP holds a changed one
        files[COURSE_FILE] = _flipped(good)
    elif case == "wrong_password":
        password = "not-the-password"
    elif case == "unknown_roster":
        files = package_files({"011302_114_1_學生成績.json": good})
    elif case == "malformed_json":
        files = package_files({COURSE_FILE: good[:-5]})
    elif case == "missing_file":
        del files["011302_114_1_校內幹部經歷.json"]
    elif case == "no_sha":
        del files["SHA.txt"]
    data = b"PK not really" if case == "not_a_zip" else aes_zip(files, PASSWORD)
    admin = env.api.as_roles("admin")
    refused = await env.upload(data, password=password, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == expected
    assert refused.json()["message"]  # a zh-TW sentence for the person importing
    assert_no_identifiers(refused.text)
    assert await env.count(ReceiptImport) == 0
    assert await env.count(ReceiptRecord) == 0


async def test_only_the_rosters_submitter_or_the_admin_imports(env: Env) -> None:
    data = aes_zip(package_files({COURSE_FILE: receipt_json(course_entries())}), PASSWORD)
    cadre = await env.upload(data, headers=env.api.as_roles("cadre_submitter"))
    assert cadre.status_code == 403
    assert cadre.json()["error"] == "roster_not_allowed"
    student = await env.upload(data, headers=env.student("110001"))
    assert student.status_code == 403
    assert await env.count(ReceiptImport) == 0


# Confirmation, reports, answers ----------------------------------------------------------------


async def _import_with_window(env: Env, *, opens_days: int = -1, closes_days: int = 5) -> None:
    await env.submitted()
    data = aes_zip(package_files({COURSE_FILE: receipt_json(course_entries())}), PASSWORD)
    assert (await env.upload(data)).status_code == 201
    now = utcnow()
    window = await env.api.client.put(
        f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/window",
        json={"opens_at": (now + timedelta(days=opens_days)).isoformat(),
              "closes_at": (now + timedelta(days=closes_days)).isoformat()},
        headers=env.course_submitter(),
    )  # fmt: skip
    assert window.status_code == 200, window.text


async def test_a_window_under_three_days_or_naive_is_refused(env: Env) -> None:
    now = utcnow()
    url = f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/window"
    short = await env.api.client.put(
        url, json={"opens_at": now.isoformat(), "closes_at": (now + timedelta(days=2)).isoformat()},
        headers=env.course_submitter(),
    )  # fmt: skip
    assert short.status_code == 422
    assert short.json()["error"] == "receipt_window_too_short"
    naive = await env.api.client.put(
        url, json={"opens_at": "2026-01-01T00:00:00", "closes_at": "2026-01-10T00:00:00"},
        headers=env.course_submitter(),
    )  # fmt: skip
    assert naive.status_code == 422


async def test_a_student_sees_the_difference_reports_and_gets_the_answer(env: Env) -> None:
    await _import_with_window(env)
    mine = await env.api.client.get(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}", headers=env.student("110001")
    )
    assert mine.status_code == 200, mine.text
    [roster] = mine.json()["rosters"]
    assert roster["roster_code"] == "26"
    [record] = roster["sheets"][0]["records"]
    assert record["status"] == "different"
    assert record["differences"] == ["科目名稱"]
    assert (record["received"]["科目名稱"], record["submitted"]["科目名稱"]) == ("國文", "國語文")
    other = await env.api.client.get(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}", headers=env.student("110002")
    )
    statuses = [r["status"] for r in other.json()["rosters"][0]["sheets"][0]["records"]]
    assert sorted(statuses) == ["not_submitted", "same"]

    reported = await env.api.client.post(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}/reports",
        json={"record_id": record["record_id"], "error_code": "R01", "comment": "應為國語文"},
        headers=env.student("110001"),
    )  # fmt: skip
    assert reported.status_code == 201, reported.text
    twice = await env.api.client.post(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}/reports",
        json={"record_id": record["record_id"], "error_code": "R01", "comment": "再說一次"},
        headers=env.student("110001"),
    )  # fmt: skip
    assert (twice.status_code, twice.json()["error"]) == (409, "receipt_report_exists")
    bad_code = await env.api.client.post(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}/reports",
        json={"record_id": record["record_id"], "error_code": "X1", "comment": "?"},
        headers=env.student("110001"),
    )  # fmt: skip
    assert bad_code.status_code == 422
    not_mine = await env.api.client.post(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}/reports",
        json={"record_id": record["record_id"], "error_code": "R01", "comment": "?"},
        headers=env.student("110002"),
    )  # fmt: skip
    assert not_mine.status_code == 404

    reports_url = f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/reports"
    listed = await env.api.client.get(
        reports_url, params={"class_code": "101", "roster_code": "26", "status": "open"},
        headers=env.course_submitter(),
    )  # fmt: skip
    [item] = listed.json()["items"]
    assert (item["student_name"], item["error_title"]) == ("林小明", "欄位內容有誤")
    assert item["received"]["科目名稱"] == "國文"  # what the submitter checks
    cadre = await env.api.client.get(reports_url, headers=env.api.as_roles("cadre_submitter"))
    assert cadre.json()["items"] == []  # not their 名冊
    answered = await env.api.client.post(
        f"{env.api.base}/receipts/reports/{item['id']}/answer",
        json={"answer": "will_fix_and_resubmit", "text": "已更正，將重新提交"},
        headers=env.course_submitter(),
    )  # fmt: skip
    assert answered.status_code == 200, answered.text
    seen = await env.api.client.get(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}", headers=env.student("110001")
    )
    [report] = seen.json()["reports"]
    assert (report["status"], report["answer"], report["answer_text"]) == (
        "answered", "will_fix_and_resubmit", "已更正，將重新提交")  # fmt: skip
    assert seen.json()["status"] == "reported"

    confirmed = await env.api.client.post(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}/confirmation",
        headers=env.student("110002"),
    )
    assert confirmed.status_code == 200, confirmed.text
    counts = await env.api.client.get(
        f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/status", headers=env.teacher()
    )
    assert counts.json()["items"] == [
        {"class_code": "101", "students": 2, "confirmed": 1, "reported": 1, "silent": 0}
    ]
    workbook = await env.api.client.get(
        f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/status.xlsx", headers=env.teacher()
    )
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert ["101", 2, 1, 1, 0] in rows
    assert_no_identifiers(await dump_database(env.api))


async def test_outside_the_window_confirming_and_reporting_are_refused(env: Env) -> None:
    await _import_with_window(env, opens_days=-10, closes_days=-5)
    late = await env.api.client.post(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}/confirmation",
        headers=env.student("110001"),
    )
    assert late.status_code == 409
    assert late.json()["error"] == "receipt_window_closed"
    assert "確認期間為" in late.json()["message"]
    mine = await env.api.client.get(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}", headers=env.student("110001")
    )
    record_id = mine.json()["rosters"][0]["sheets"][0]["records"][0]["record_id"]
    report = await env.api.client.post(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}/reports",
        json={"record_id": record_id, "error_code": "R99", "comment": "晚了"},
        headers=env.student("110001"),
    )  # fmt: skip
    assert report.status_code == 409
    assert await env.count(ReceiptReport) == 0
    assert mine.json()["confirmed_at"] is None


async def test_open_reports_after_the_window_are_listed_for_follow_up(env: Env) -> None:
    await _import_with_window(env)
    mine = await env.api.client.get(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}", headers=env.student("110001")
    )
    record_id = mine.json()["rosters"][0]["sheets"][0]["records"][0]["record_id"]
    await env.api.client.post(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}/reports",
        json={"record_id": record_id, "error_code": "R01", "comment": "科目名稱不對"},
        headers=env.student("110001"),
    )  # fmt: skip
    url = f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/reports"
    before = await env.api.client.get(
        url, params={"overdue": "true"}, headers=env.course_submitter()
    )
    assert before.json()["items"] == []
    now = utcnow()
    await env.api.client.put(
        f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/window",
        json={"opens_at": (now - timedelta(days=4)).isoformat(),
              "closes_at": (now - timedelta(minutes=1)).isoformat()},
        headers=env.course_submitter(),
    )  # fmt: skip
    after = await env.api.client.get(
        url, params={"overdue": "true"}, headers=env.course_submitter()
    )
    assert [i["overdue"] for i in after.json()["items"]] == [True]


# 歷程確認單 ---------------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)
    return "".join(text.split())  # table cells wrap: compare without the breaks


async def test_the_confirmation_pdf_holds_the_student_and_records(env: Env) -> None:
    await _import_with_window(env)
    await env.api.client.post(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}/confirmation",
        headers=env.student("110002"),
    )
    own = await env.api.client.get(
        f"{env.api.base}/me/receipts/terms/{YEAR}/{SEMESTER}/confirmation.pdf",
        headers=env.student("110002"),
    )
    assert own.status_code == 200
    assert own.headers["content-type"] == "application/pdf"
    text = _pdf_text(own.content)
    for expected in ("學習歷程確認單", "吳小華", "110002", "實驗報告", "第二份", "已於"):
        assert expected in text
    whole_class = await env.api.client.get(
        f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/classes/101/confirmation.pdf",
        headers=env.teacher(),
    )
    assert whole_class.status_code == 200
    reader = pypdf.PdfReader(io.BytesIO(whole_class.content))
    assert len(reader.pages) >= 2  # a page (at least) per student
    text = _pdf_text(whole_class.content)
    for expected in ("林小明", "吳小華", "國文"):
        assert expected in text
    assert_no_identifiers(text)
    other_teacher = await env.api.client.get(
        f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/classes/101/confirmation.pdf",
        headers=env.api.as_roles("homeroom_teacher"),
    )
    assert other_teacher.status_code == 403
    one = await env.api.client.get(
        f"{env.api.base}/receipts/terms/{YEAR}/{SEMESTER}/students/"
        f"{env.students['110001']}/confirmation.pdf",
        headers=env.api.as_roles("admin"),
    )
    assert one.status_code == 200
    assert "林小明" in _pdf_text(one.content)


async def test_submitted_rows_are_kept_without_identifiers(env: Env) -> None:
    await env.submitted()
    async with env.api.app.state.session_factory() as session:
        rows = (await session.exec(select(SubmittedRecord))).all()
    assert {r.fields["科目名稱"] for r in rows} == {"國語文"}
    assert all("身分證號" not in r.fields and "出生日期" not in r.fields for r in rows)
