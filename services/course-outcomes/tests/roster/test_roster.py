"""The identity read model fills from real NATS events, once per person."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licheng.course_outcomes.models import KnownPerson


async def _count(api: Any, table: Any) -> int:
    async with api.app.state.engine.connect() as connection:
        count = sa.select(sa.func.count()).select_from(table)
        return int((await connection.execute(count)).scalar_one())


async def test_identity_events_fill_the_roster_once(course_api: Any) -> None:
    api = course_api
    await api.announce_person(kind="staff", local_no="T001", name="陳老師")
    await api.announce_person(kind="student", local_no="110001", name="林同學", class_code="101")

    async def two_people() -> bool:
        return await _count(api, KnownPerson) == 2

    await api.eventually(two_people, "both people in the read model")
    async with api.app.state.session_factory() as session:
        people = {p.local_no: p for p in (await session.exec(sa.select(KnownPerson))).scalars()}  # type: ignore[call-overload]
    assert people["110001"].class_code == "101"
    assert people["T001"].kind == "staff"
