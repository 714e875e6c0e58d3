"""A school whose fill and 勾選 windows are open, with helpers to fill 多元表現 records."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from licheng.performances.models import Certificate

YEAR = 115
PNG = b"\x89PNG\r\n\x1a\n" + bytes(600)

# Every category with valid fields as a form sends them (ROC dates in), and what is stored
# (ISO dates out, codes as text, numbers as numbers).
VALID: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "cadre": (
        {"unit_name": "學生會", "start_date": "115/08/01", "end_date": "116/01/31",
         "role_title": "會長", "level": "1"},
        {"unit_name": "學生會", "start_date": "2026-08-01", "end_date": "2027-01-31",
         "role_title": "會長", "level": "1"},
    ),
    "competition": (
        {"name": "全國科展", "item": "物理", "level": "3", "award": "佳作",
         "announced_on": "1151020", "team": "2"},
        {"name": "全國科展", "item": "物理", "level": "3", "award": "佳作",
         "announced_on": "2026-10-20", "team": "2"},
    ),
    "certificate": (
        {"certificate_code": "TOEIC", "grade_or_score": "金色", "score": "905",
         "obtained_on": "115年9月3日", "certificate_no": "A-123"},
        {"certificate_code": "TOEIC", "grade_or_score": "金色", "score": "905",
         "obtained_on": "2026-09-03", "certificate_no": "A-123"},
    ),
    "service": (
        {"name": "淨灘", "organisation": "海洋協會", "start_date": "115/09/05",
         "end_date": "115/09/05", "hours": "4.5"},
        {"name": "淨灘", "organisation": "海洋協會", "start_date": "2026-09-05",
         "end_date": "2026-09-05", "hours": 4.5},
    ),
    "flexible": (
        {"kind": "1", "name": "自主學習：程式設計", "organiser": "教務處", "offered_year": "115",
         "offered_semester": 1, "periods_per_week": 2, "weeks": "18"},
        {"kind": "1", "name": "自主學習：程式設計", "organiser": "教務處", "offered_year": 115,
         "offered_semester": 1, "periods_per_week": 2, "weeks": 18},
    ),
    "workplace": (
        {"kind": "見習", "organisation": "某科技公司", "job_title": "實習生",
         "start_date": "2026-07-01", "end_date": "115/07/31", "hours": 80},
        {"kind": "見習", "organisation": "某科技公司", "job_title": "實習生",
         "start_date": "2026-07-01", "end_date": "2026-07-31", "hours": 80.0},
    ),
    "work": (
        {"name": "校刊封面設計", "made_on": "115.11.11"},
        {"name": "校刊封面設計", "made_on": "2026-11-11"},
    ),
    "other": (
        {"name": "模擬聯合國", "organiser": "某大學", "start_date": "115/12/01"},
        {"name": "模擬聯合國", "organiser": "某大學", "start_date": "2026-12-01"},
    ),
    "group_activity": (
        {"kind": "2", "organiser": "學務處", "name": "吉他社", "activity_year": 115,
         "activity_semester": "2", "periods": "16"},
        {"kind": "2", "organiser": "學務處", "name": "吉他社", "activity_year": 115,
         "activity_semester": 2, "periods": 16},
    ),
    "advanced_course": (
        {"organiser": "某大學", "course_name": "微積分", "start_date": "115/09/01",
         "end_date": "116/01/15", "credits": "2", "total_hours": "36"},
        {"organiser": "某大學", "course_name": "微積分", "start_date": "2026-09-01",
         "end_date": "2027-01-15", "credits": 2.0, "total_hours": 36.0},
    ),
}  # fmt: skip


@dataclass
class Filling:
    """The school of `school` with its windows open and the helpers of these tests."""

    school: Any

    @property
    def api(self) -> Any:
        """The running service."""
        return self.school.api

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client."""
        client: httpx.AsyncClient = self.school.api.client
        return client

    @property
    def base(self) -> str:
        """The school's API prefix."""
        base: str = self.school.base
        return base

    def student(self, student_no: str = "110001") -> dict[str, str]:
        """Headers of a student."""
        headers: dict[str, str] = self.school.student(student_no)
        return headers

    def body(self, category: str = "competition", **overrides: Any) -> dict[str, Any]:
        """A valid create body of the category."""
        return {"academic_year": YEAR, "category": category, "fields": dict(VALID[category][0]),
                "brief": "參加全國科展，負責實驗設計。", **overrides}  # fmt: skip

    async def create(
        self, category: str = "competition", student_no: str = "110001", **overrides: Any
    ) -> dict[str, Any]:
        """Create a record (201 expected) and return it."""
        response = await self.client.post(
            f"{self.base}/performances",
            json=self.body(category, **overrides),
            headers=self.student(student_no),
        )
        assert response.status_code == 201, response.text
        record: dict[str, Any] = response.json()
        return record

    async def upload(
        self, record_id: str, name: str, content: bytes, student_no: str = "110001"
    ) -> httpx.Response:
        """POST a proof file."""
        return await self.client.post(
            f"{self.base}/performances/{record_id}/files",
            files={"file": (name, content)},
            headers=self.student(student_no),
        )

    async def objects(self, record_id: str, student_no: str = "110001") -> list[str]:
        """The keys S3 holds under the record's prefix."""
        storage = self.api.app.state.storage
        bucket = self.api.app.state.settings.uploads_bucket
        prefix = f"{self.api.school}/{self.school.students[student_no]}/{record_id}/"
        return sorted(
            await asyncio.to_thread(
                lambda: [
                    o.object_name
                    for o in storage.client.list_objects(bucket, prefix=prefix, recursive=True)
                ]
            )
        )

    async def add_rows(self, *rows: Any) -> None:
        """Insert rows straight into the database."""
        async with self.api.app.state.session_factory() as session:
            session.add_all(rows)
            await session.commit()

    async def catalog(self, *items: tuple[str, str, bool]) -> None:
        """Put (code, name, active) items into the school's certificate catalog."""
        await self.add_rows(
            *(Certificate(school_code=self.api.school, code=code, name=name, active=active)
              for code, name, active in items)
        )  # fmt: skip

    def other_school_student(self, student_no: str = "110001") -> dict[str, str]:
        """Headers of the same person holding the student role in another school only."""
        other = f"{(int(self.api.school) + 1) % 10**6:06d}"
        headers: dict[str, str] = self.api.issuer.headers(
            person_id=self.school.students[student_no], groups=[f"/schools/{other}/student"]
        )
        return headers


@pytest.fixture
async def filling(school: Any) -> Filling:
    """The school with its fill and 勾選 windows open and TOEIC in its certificate catalog."""
    await school.open_windows()
    filling = Filling(school)
    await filling.catalog(("TOEIC", "多益測驗", True))
    return filling


def new_id() -> str:
    """An id nobody has."""
    return str(uuid.uuid4())
