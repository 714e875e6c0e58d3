"""Performances keeps identity's people and classes (the kit's read model), exactly once."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from licheng.kit.roster import KnownPerson


async def test_identity_people_arrive_with_class_and_seat(school: Any) -> None:
    async with school.api.app.state.session_factory() as session:
        people = {p.local_no: p for p in (await session.exec(select(KnownPerson))).all()}
    assert (people["110002"].class_code, people["110002"].seat_no) == ("101", 2)
    assert people["T101"].kind == "staff"
