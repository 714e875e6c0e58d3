"""A term with outcomes in every state, a 導師 for class 101 and a student in class 102.

After `filled_term`:

- 林同學 (110001, 101 座號 1): COURSE_X certified and selected, COURSE_X draft, COURSE_Y
  submitted (認證中 at 王老師);
- 吳同學 (110002, 101 座號 2): COURSE_X failed;
- 張同學 (110003, 102 座號 1): enrolled in nothing, no outcomes; class 102 was never announced;
- class 101 is grade 1 with 陳老師 (teacher a, T001) as its 導師.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import select

from licheng.contracts.events import ClassUpserted
from licheng.course_outcomes.models import KnownClass

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TERM_PARAMS = {"academic_year": 115, "semester": 1}


@dataclass
class FilledTerm:
    term: Any
    extra: uuid.UUID
    certified: str
    draft: str
    pending: str
    failed: str

    @property
    def url(self) -> str:
        """The status lists' prefix."""
        return f"{self.term.base}/status"

    def homeroom(self) -> dict[str, str]:
        """Headers of 陳老師 as the 導師 of class 101."""
        return self.term.api.as_roles("homeroom_teacher", person_id=self.term.teacher_a)

    async def get(self, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
        """GET a status list (or download) of term 115-1."""
        return await self.term.api.client.get(
            f"{self.url}/{path}", params={**TERM_PARAMS, **params}, headers=headers
        )

    async def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a JSON list, as course staff."""
        response = await self.get(path, self.term.submitter(), **params)
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


@pytest.fixture
async def filled_term(term: Any) -> FilledTerm:
    api = term.api
    extra = await api.announce_person(
        kind="student", local_no="110003", name="張同學", class_code="102", seat_no=1
    )
    await api.publish(
        ClassUpserted(
            class_id=uuid.uuid4(), class_code="101", grade=1, homeroom_person_id=term.teacher_a
        )
    )

    async def ready() -> bool:
        async with api.app.state.session_factory() as session:
            known = (await session.exec(select(KnownClass))).all()
        return await term.known_people() == 5 and any(c.class_code == "101" for c in known)

    await api.eventually(ready, "the third student and class 101")
    now = datetime.now(UTC)
    await term.open_windows(
        select_from=(now - timedelta(days=1)).isoformat(),
        select_until=(now + timedelta(days=30)).isoformat(),
    )
    certified = await term.new_outcome()
    pending = await term.new_outcome(term.COURSE_Y)
    failed = await term.new_outcome(which=2)
    for outcome, which in ((certified, 1), (pending, 1), (failed, 2)):
        submitted = await term.submit(outcome["id"], which)
        assert submitted.status_code == 200, submitted.text
    decided = await term.decide(certified["id"], {"certified": True})
    assert decided.status_code == 200, decided.text
    body = {"certified": False, "reason_code": "04", "explanation": "請補充實作過程"}
    decided = await term.decide(failed["id"], body)
    assert decided.status_code == 200, decided.text
    draft = await term.new_outcome()
    selection = await api.client.put(
        f"{term.base}/me/selections",
        headers=term.student(),
        json={**TERM_PARAMS, "outcome_ids": [certified["id"]]},
    )
    assert selection.status_code == 200, selection.text
    return FilledTerm(term, extra, certified["id"], draft["id"], pending["id"], failed["id"])
