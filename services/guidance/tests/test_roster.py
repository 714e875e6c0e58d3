"""Guidance keeps identity's people and classes (the kit's read model)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from licheng.kit.roster import KnownClass


async def test_classes_arrive_with_their_homeroom_teachers(school: Any) -> None:
    async with school.api.app.state.session_factory() as session:
        classes = {c.class_code: c for c in (await session.exec(select(KnownClass))).all()}
    assert classes["102"].homeroom_person_id == school.homeroom_teachers["102"]
