"""勾選: at most N of the student's own records per year; 校內幹部 never count."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from licheng.kit.outbox import OutboxMessage
from licheng.performances.models import Cadre

from .conftest import YEAR, Filling, new_id


async def _records(filling: Filling, count: int, student_no: str = "110001") -> list[str]:
    return [(await filling.create(student_no=student_no))["id"] for _ in range(count)]


async def test_the_eleventh_selection_is_refused_and_cadres_never_count(filling: Filling) -> None:
    await filling.add_rows(
        Cadre(school_code=filling.api.school, student_id=filling.school.students["110001"],
              academic_year=YEAR, semester=1, unit_name="101 班", role_title="班長", level=2,
              start_date=date(2026, 8, 1), source="import")
    )  # fmt: skip
    ids = await _records(filling, 11)
    url = f"{filling.base}/me/selections"
    refused = await filling.client.put(
        url, json={"academic_year": YEAR, "performance_ids": ids}, headers=filling.student()
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "quota_exceeded"
    assert refused.json()["message"] == "每學年最多勾選 10 項多元表現，您選了 11 項"
    assert refused.json()["detail"] == {"limit": 10, "selected": 11}
    chosen = await filling.client.put(
        url, json={"academic_year": YEAR, "performance_ids": ids[:10]}, headers=filling.student()
    )
    assert chosen.status_code == 200, chosen.text
    body = chosen.json()
    assert (body["limit"], body["selected"]) == (10, 10)  # the cadre row is not one of them
    assert sorted(r["id"] for r in body["items"]) == sorted(ids[:10])
    assert all(r["selected"] for r in body["items"])
    counter = await filling.client.get(
        url, params={"academic_year": YEAR}, headers=filling.student()
    )
    assert (counter.json()["limit"], counter.json()["selected"]) == (10, 10)
    swapped = await filling.client.put(
        url, json={"academic_year": YEAR, "performance_ids": [ids[10], ids[0]]},
        headers=filling.student(),
    )  # fmt: skip
    assert swapped.status_code == 200
    assert sorted(r["id"] for r in swapped.json()["items"]) == sorted([ids[0], ids[10]])
    async with filling.api.app.state.engine.connect() as connection:
        changed = (
            await connection.execute(
                sa.select(sa.func.count()).where(
                    OutboxMessage.subject.like("%.selection.changed")  # type: ignore[attr-defined]
                )
            )
        ).scalar_one()
    assert changed == 10 + 9 + 1  # each record whose selection changed, once per change
    again = await filling.client.get(url, params={"academic_year": YEAR}, headers=filling.student())
    assert again.json()["selected"] == 2


async def test_only_own_records_of_the_year_can_be_selected(filling: Filling) -> None:
    [mine] = await _records(filling, 1)
    [theirs] = await _records(filling, 1, student_no="110002")
    unknown = new_id()
    refused = await filling.client.put(
        f"{filling.base}/me/selections",
        json={"academic_year": YEAR, "performance_ids": [mine, theirs, unknown]},
        headers=filling.student(),
    )
    assert refused.status_code == 404
    assert sorted(refused.json()["detail"]["performance_ids"]) == sorted([theirs, unknown])
    other_year = await filling.client.put(
        f"{filling.base}/me/selections",
        json={"academic_year": YEAR + 1, "performance_ids": [mine]},
        headers=filling.student(),
    )
    assert other_year.status_code == 409  # 116's 勾選 window was never opened
    assert other_year.json()["error"] == "window_closed"
    read = await filling.client.get(
        f"{filling.base}/performances/{mine}", headers=filling.student()
    )
    assert read.json()["selected"] is False


async def test_selection_needs_its_window_and_a_custom_cap_is_named(filling: Filling) -> None:
    ids = await _records(filling, 3)
    await filling.school.open_windows(selections_per_year=2)
    refused = await filling.client.put(
        f"{filling.base}/me/selections",
        json={"academic_year": YEAR, "performance_ids": ids},
        headers=filling.student(),
    )
    assert refused.json()["message"] == "每學年最多勾選 2 項多元表現，您選了 3 項"
    past = datetime.now(UTC) - timedelta(days=5)
    await filling.school.open_windows(
        select_from=(past - timedelta(days=10)).isoformat(), select_until=past.isoformat()
    )
    closed = await filling.client.put(
        f"{filling.base}/me/selections",
        json={"academic_year": YEAR, "performance_ids": ids[:1]},
        headers=filling.student(),
    )
    assert closed.status_code == 409
    assert closed.json()["error"] == "window_closed"
    assert "勾選" in closed.json()["message"]


async def test_two_selections_at_once_never_pass_the_cap_together(filling: Filling) -> None:
    ids = await _records(filling, 12)
    url = f"{filling.base}/me/selections"
    answers = await asyncio.gather(
        *(
            filling.client.put(
                url, json={"academic_year": YEAR, "performance_ids": half},
                headers=filling.student(),
            )
            for half in (ids[:6], ids[6:])
        )
    )  # fmt: skip
    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
    counter = await filling.client.get(
        url, params={"academic_year": YEAR}, headers=filling.student()
    )
    assert counter.json()["selected"] == 6  # one replace or the other, never both
    selected = sorted(r["id"] for r in counter.json()["items"])
    assert selected in (sorted(ids[:6]), sorted(ids[6:]))
