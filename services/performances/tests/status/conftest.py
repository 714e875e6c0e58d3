"""A school year of 多元表現 and 校內幹部 records, written straight into the database.

After `filled_year` (academic year 115 unless said otherwise):

- 林同學 (110001, 101 座號 1): 競賽 self, selected, with a proof file; 志工服務 imported without
  proof; 作品 self, selected, without proof; 校內幹部 in both semesters; in 114 a 競賽 and a
  校內幹部 (never counted for 115); a record under the same id in another school (never counted);
- 吳同學 (110002, 101 座號 2): 競賽 self without proof;
- 張同學 (110003, 102 座號 1): 志工服務 self, selected, with proof;
- 黃同學 (110004, 201 座號 5, grade 2): no records, one 校內幹部;
- 李同學 (100001, 101 座號 3) has graduated: their record is never listed nor counted;
- class 101 is grade 1 with 陳導師 as its 導師; 102 grade 1 without one; 201 grade 2.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from licheng.kit.roster import KnownClass, KnownPerson, PersonKind
from licheng.performances.models import Cadre, Category, Origin, Performance, PerformanceFile

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YEAR = 115


@dataclass
class FilledYear:
    school: Any
    students: dict[str, uuid.UUID]

    @property
    def url(self) -> str:
        """The status lists' prefix."""
        return f"{self.school.base}/status"

    def staff(self) -> dict[str, str]:
        """Headers of the 多元表現提交者."""
        headers: dict[str, str] = self.school.as_role("performance_submitter")
        return headers

    async def get(self, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
        """GET a status list (or download) of academic year 115 unless another is given."""
        return await self.school.api.client.get(
            f"{self.url}/{path}", params={"academic_year": YEAR, **params}, headers=headers
        )

    async def items(
        self, path: str, headers: dict[str, str] | None = None, **params: Any
    ) -> list[dict[str, Any]]:
        """Every item of a JSON list (staff unless other headers are given)."""
        response = await self.get(path, headers or self.staff(), **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        items: list[dict[str, Any]] = body["items"]
        return items

    @staticmethod
    def sheet(response: httpx.Response) -> Worksheet:
        """The one sheet of a downloaded workbook, re-read with openpyxl."""
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == XLSX
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        book = load_workbook(BytesIO(response.content))
        assert len(book.worksheets) == 1
        sheet = book.worksheets[0]
        assert isinstance(sheet, Worksheet)
        return sheet

    @staticmethod
    def rows(sheet: Worksheet) -> tuple[list[Any], list[list[Any]], list[str]]:
        """The header, the data rows, and the notes below the blank row."""
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        blank = next(i for i, row in enumerate(rows) if all(v is None for v in row))
        notes = [str(row[0]) for row in rows[blank + 1 :]]
        return rows[0], rows[1:blank], notes


def performance(
    school_code: str,
    student_id: uuid.UUID,
    category: Category,
    *,
    year: int = YEAR,
    origin: Origin = Origin.SELF,
    selected: bool = False,
) -> Performance:
    """A record as the records API would store it (the fields do not matter to the counts)."""
    return Performance(
        school_code=school_code,
        student_id=student_id,
        academic_year=year,
        category=category,
        origin=origin,
        fields={"name": "測試紀錄"},
        brief="簡述",
        selected=selected,
    )


def proof(record: Performance) -> PerformanceFile:
    """A stored proof file of a record."""
    return PerformanceFile(
        school_code=record.school_code,
        performance_id=record.id,
        object_key=f"{record.school_code}/{record.student_id}/{record.id}/{'0' * 64}",
        sha256="0" * 64,
        size=2048,
        kind="pdf",
        filename="證明.pdf",
    )


def cadre(
    school_code: str, student_id: uuid.UUID, role_title: str, *, year: int = YEAR, semester: int = 1
) -> Cadre:
    """A 校內幹部 record as the cadre import would store it."""
    return Cadre(
        school_code=school_code,
        student_id=student_id,
        academic_year=year,
        semester=semester,
        unit_name="101 班",
        role_title=role_title,
        level=2,
        start_date=date(2026, 9, 1),
        source="import",
    )


@pytest.fixture
async def filled_year(school: Any) -> FilledYear:
    code = school.api.school
    students = dict(school.students)
    students["110004"] = uuid.uuid4()
    graduate = uuid.uuid4()
    first, second, third = (students[n] for n in ("110001", "110002", "110003"))
    competition = performance(code, first, Category.COMPETITION, selected=True)
    service = performance(code, third, Category.SERVICE, selected=True)
    rows: list[Any] = [
        KnownClass(school_code=code, class_code="201", grade=2),
        KnownPerson(id=students["110004"], school_code=code, kind=PersonKind.STUDENT,
                    local_no="110004", name="黃同學", class_code="201", seat_no=5,
                    status="在籍"),
        KnownPerson(id=graduate, school_code=code, kind=PersonKind.STUDENT, local_no="100001",
                    name="李同學", class_code="101", seat_no=3, status="畢業"),
        competition, service,
        performance(code, first, Category.SERVICE, origin=Origin.IMPORTED),
        performance(code, first, Category.WORK, selected=True),
        performance(code, first, Category.COMPETITION, year=114, selected=True),
        performance("999999", first, Category.OTHER),
        performance(code, second, Category.COMPETITION),
        performance(code, graduate, Category.OTHER, selected=True),
        cadre(code, first, "班長"), cadre(code, first, "副班長", semester=2),
        cadre(code, first, "學藝股長", year=114), cadre(code, students["110004"], "風紀股長"),
    ]  # fmt: skip
    async with school.api.app.state.session_factory() as session:
        session.add_all(rows)
        await session.flush()
        session.add_all([proof(competition), proof(service), proof(service)])
        await session.commit()
    return FilledYear(school=school, students=students)
