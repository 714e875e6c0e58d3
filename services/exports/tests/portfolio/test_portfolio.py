"""A student's own portfolio download: a ZIP of their selected outcomes and 多元表現, the files
as stored, and an index page (HTML and PDF); only ever their own, only for the student."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import struct
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

import pytest
from weasyprint import HTML  # type: ignore[import-untyped]

from licheng.exports.models import CertificateRow, OutcomeRow, PerformanceRow
from licheng.kit.roster import KnownPerson, PersonKind
from licheng.kit.storage import MIB, FileKind, KeyFor, ObjectStorage, UploadPolicy, iter_bytes
from licheng.testing.services import ServiceApi

POLICY = UploadPolicy({FileKind.PDF: MIB, FileKind.PNG: MIB})
PATH = "/me/portfolio"


def _png(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return b"".join(
        (b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header), chunk(b"IDAT", zlib.compress(pixels)),
         chunk(b"IEND", b""))
    )  # fmt: skip


PNG = _png()
PDF: bytes = HTML(string="<p>獎狀 certificate</p>").write_pdf()


@dataclass
class Seeded:
    """The read model of a school with students 110001 (林同學) and 110002 (吳同學)."""

    api: ServiceApi
    students: dict[str, uuid.UUID]

    def student(self, student_no: str = "110001") -> dict[str, str]:
        """Headers of a student."""
        return self.api.as_roles("student", person_id=self.students[student_no])

    async def add(self, *rows: Any) -> None:
        """Store read-model rows as the consumers would."""
        async with self.api.app.state.session_factory() as session:
            session.add_all(rows)
            await session.commit()

    async def file(self, student_no: str, record_id: uuid.UUID, data: bytes) -> dict[str, Any]:
        """Upload `data` as the owning service would and return its file ref."""
        storage: ObjectStorage = self.api.app.state.storage
        stored = await storage.put_stream(
            bucket=self.api.app.state.settings.uploads_bucket,
            chunks=iter_bytes(data),
            policy=POLICY,
            key_for=KeyFor(school_code=self.api.school, owner_id=self.students[student_no],
                           record_id=record_id),
        )  # fmt: skip
        return {"file_id": str(uuid.uuid4()), "slot": "1", "key": stored.key,
                "sha256": stored.sha256, "kind": stored.kind, "size": stored.size}  # fmt: skip

    def outcome(self, student_no: str, **values: Any) -> OutcomeRow:
        """An outcome row (certified and selected unless told)."""
        defaults: dict[str, Any] = {
            "outcome_id": uuid.uuid4(), "school_code": self.api.school,
            "student_id": self.students[student_no], "academic_year": 114, "semester": 1,
            "status": "certified", "outcome_type": "書面報告", "brief": "一份報告",
            "selected": True, "course_code": "114011302H11101A1000000000", "subject_name": "國語文",
            "credits": 4, "grade": 1,
        }  # fmt: skip
        return OutcomeRow(**{**defaults, **values})

    def performance(self, student_no: str, **values: Any) -> PerformanceRow:
        """A 多元表現 row (a selected 競賽參與 unless told)."""
        defaults: dict[str, Any] = {
            "performance_id": uuid.uuid4(), "school_code": self.api.school,
            "student_id": self.students[student_no], "academic_year": 114,
            "category": "competition", "origin": "self",
            "fields": {"name": "全國科展", "level": "3", "award": "佳作",
                       "announced_on": "2025-11-20", "team": "2"},
            "brief": "科展作品", "selected": True,
        }  # fmt: skip
        return PerformanceRow(**{**defaults, **values})


@pytest.fixture
async def seeded(exports_api: ServiceApi) -> Seeded:
    students = {"110001": uuid.uuid4(), "110002": uuid.uuid4()}
    seeded = Seeded(api=exports_api, students=students)
    await seeded.add(
        KnownPerson(id=students["110001"], school_code=exports_api.school,
                    kind=PersonKind.STUDENT, local_no="110001", name="林同學", class_code="101",
                    seat_no=1, status="在籍"),
        KnownPerson(id=students["110002"], school_code=exports_api.school,
                    kind=PersonKind.STUDENT, local_no="110002", name="吳同學", class_code="101",
                    seat_no=2, status="在籍"),
    )  # fmt: skip
    return seeded


def _inflated(pdf: bytes) -> bytes:
    """Every compressed stream of a PDF, inflated (fonts' ToUnicode maps among them)."""
    streams = []
    for start in re.finditer(rb"stream\r?\n", pdf):
        with contextlib.suppress(zlib.error):
            streams.append(zlib.decompressobj().decompress(pdf[start.end() :]))
    return b"".join(streams)


async def _download(seeded: Seeded, student_no: str) -> tuple[zipfile.ZipFile, str]:
    response = await seeded.api.client.get(
        seeded.api.base + PATH, headers=seeded.student(student_no)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    assert int(response.headers["content-length"]) == len(response.content)
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    pdf = archive.read("index.pdf")
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    return archive, archive.read("index.html").decode()


async def test_a_student_downloads_their_selected_items_with_files(seeded: Seeded) -> None:
    later, earlier = uuid.uuid4(), uuid.uuid4()
    report_pdf = await seeded.file("110001", earlier, PDF)
    report_png = await seeded.file("110001", earlier, PNG)
    record = uuid.uuid4()
    proof = await seeded.file("110001", record, PNG + b"\x00")
    await seeded.add(
        seeded.outcome("110001", outcome_id=later, academic_year=114, semester=2,
                       subject_name="數學", brief="第二學期的數學報告",
                       video_url="https://video.example.org/watch?v=1"),
        seeded.outcome("110001", outcome_id=earlier, academic_year=114, semester=1,
                       brief="<script>alert('x')</script> 我的國文報告",
                       video_url="javascript:alert(1)", files=[report_pdf, report_png]),
        seeded.outcome("110001", brief="認證了卻沒有勾選", selected=False),
        seeded.outcome("110001", brief="還在審核中", status="submitted"),
        seeded.outcome("110002", brief="吳同學的國文報告"),
        seeded.performance("110001", performance_id=record, files=[proof]),
        seeded.performance("110001", category="certificate", brief="多益測驗",
                           fields={"certificate_code": "TOEIC", "score": "850",
                                   "obtained_on": "2025-10-05"}),
        seeded.performance("110001", brief="沒有勾選的表現", selected=False),
        seeded.performance("110002", brief="吳同學的科展"),
        CertificateRow(school_code=seeded.api.school, code="TOEIC", name="多益英語測驗"),
    )  # fmt: skip

    response = await seeded.api.client.get(seeded.api.base + PATH, headers=seeded.student())
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="portfolio_110001.zip"')
    assert "filename*=UTF-8''%E5%AD%B8%E7%BF%92%E6%AD%B7%E7%A8%8B_110001.zip" in disposition

    archive, html = await _download(seeded, "110001")
    assert sorted(archive.namelist()) == [
        "files/outcome-01-1.pdf",
        "files/outcome-01-2.png",
        "files/performance-01-1.png",
        "index.html",
        "index.pdf",
    ]
    for name, ref in (("files/outcome-01-1.pdf", report_pdf), ("files/outcome-01-2.png",
                      report_png), ("files/performance-01-1.png", proof)):  # fmt: skip
        assert hashlib.sha256(archive.read(name)).hexdigest() == ref["sha256"]
    # The student's own, selected, certified items, oldest term first; nobody else's.
    assert "林同學" in html
    assert "110001" in html
    assert html.index("我的國文報告") < html.index("第二學期的數學報告")
    assert "課程學習成果（2 件）" in html
    assert "多元表現（2 件）" in html
    for absent in ("認證了卻沒有勾選", "還在審核中", "吳同學", "沒有勾選的表現"):
        assert absent not in html
    # Student-provided text is text: no script, no javascript: link.
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; 我的國文報告" in html
    assert 'href="javascript:' not in html
    assert '<a href="https://video.example.org/watch?v=1">' in html
    assert '<a href="files/outcome-01-1.pdf">' in html
    # Categories, codes and dates as schools read them; the catalog's certificate name.
    assert "檢定證照：多益英語測驗" in html
    assert "114/10/05" in html
    assert html.index("競賽參與：全國科展") < html.index("檢定證照：多益英語測驗")  # seed order
    assert "佳作" in html
    assert "團體" in html
    assert "115/11/20" not in html
    assert "114/11/20" in html
    assert not re.search(r"\b[A-Z][12]\d{8}\b", html)  # never a 身分證號
    # The PDF prints Chinese with a real glyph: 林 (U+6797) is in an embedded font's map.
    assert b"<6797>" in _inflated(archive.read("index.pdf"))

    theirs, their_html = await _download(seeded, "110002")
    assert sorted(theirs.namelist()) == ["index.html", "index.pdf"]
    assert "吳同學的國文報告" in their_html
    assert "吳同學的科展" in their_html
    assert "林同學" not in their_html
    assert "我的國文報告" not in their_html


async def test_a_student_with_nothing_selected_gets_an_index_saying_so(seeded: Seeded) -> None:
    await seeded.add(seeded.outcome("110001", selected=False))
    archive, html = await _download(seeded, "110001")
    assert sorted(archive.namelist()) == ["index.html", "index.pdf"]
    assert "尚無已認證且勾選的課程學習成果" in html
    assert "尚無勾選的多元表現" in html


async def test_a_file_gone_from_storage_is_noted_and_the_rest_still_downloads(
    seeded: Seeded,
) -> None:
    record = uuid.uuid4()
    kept = await seeded.file("110001", record, PNG)
    gone = {**kept, "key": f"{seeded.api.school}/{uuid.uuid4()}/{record}/{'0' * 64}",
            "sha256": "0" * 64}  # fmt: skip
    await seeded.add(seeded.performance("110001", performance_id=record, files=[gone, kept]))
    archive, html = await _download(seeded, "110001")
    assert "files/performance-01-1.png" not in archive.namelist()
    assert archive.read("files/performance-01-2.png") == PNG
    assert '附件 1（圖片）<span class="missing">（檔案目前無法取得，未收錄）' in html


async def test_only_the_student_themself_may_download(seeded: Seeded) -> None:
    url = seeded.api.base + PATH
    for role in ("admin", "homeroom_teacher", "performance_submitter"):
        refused = await seeded.api.client.get(url, headers=seeded.api.as_roles(role))
        assert refused.status_code == 403, (role, refused.text)
    anonymous = await seeded.api.client.get(url)
    assert anonymous.status_code == 401
    # A student of another school holds no role here.
    elsewhere = seeded.api.issuer.headers(
        person_id=seeded.students["110001"], groups=["/schools/999999/student"]
    )
    assert (await seeded.api.client.get(url, headers=elsewhere)).status_code == 403
    unknown = await seeded.api.client.get(url, headers=seeded.api.as_roles("student"))
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "student_not_found"
