"""The roster's shared query pieces: which classes are in use, and which a 導師 may see."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.permissions import Capability
from licheng.kit.auth import Principal
from licheng.kit.db import create_engine
from licheng.kit.permissions import Grant
from licheng.kit.roster import (
    KnownClass,
    KnownPerson,
    PersonKind,
    class_join,
    classes_in_use,
    count_classes_in_use,
    enrolled_students,
    homeroom_teacher,
    student_class_join,
    visible_classes,
)
from licheng.testing.fixtures import DatabaseFactory

SCHOOL = "123456"
TEACHER = uuid.uuid4()
ROSTER_TABLES = [t.__table__ for t in (KnownPerson, KnownClass)]  # type: ignore[attr-defined]


def _student(no: str, class_code: str | None, status: str = "在籍", school: str = SCHOOL) -> Any:
    return KnownPerson(
        id=uuid.uuid4(), school_code=school, kind=PersonKind.STUDENT, local_no=no,
        name=f"學生{no}", class_code=class_code, seat_no=1, status=status,
    )  # fmt: skip


@pytest.fixture
async def session(make_database: DatabaseFactory) -> AsyncIterator[AsyncSession]:
    engine: AsyncEngine = create_engine(await make_database("roster"))
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=ROSTER_TABLES))
    async with AsyncSession(engine, expire_on_commit=False) as session:
        session.add_all([
            KnownPerson(id=TEACHER, school_code=SCHOOL, kind=PersonKind.STAFF, local_no="T1",
                        name="王導師"),
            KnownClass(school_code=SCHOOL, class_code="101", grade=1, homeroom_person_id=TEACHER),
            KnownClass(school_code=SCHOOL, class_code="102", grade=1),
            KnownClass(school_code="654321", class_code="901", grade=3),
            _student("S1", "102"),
            _student("S2", "103", status="休學"),
            _student("S3", "104", status="畢業"),
            _student("S4", None),
            _student("S5", "905", school="654321"),
        ])  # fmt: skip
        await session.commit()
        yield session
    await engine.dispose()


def _grant(person_id: uuid.UUID | None) -> Grant:
    principal = Principal(subject="someone", person_id=person_id)
    return Grant(principal, SCHOOL, Capability.PORTFOLIO_READ, frozenset(), frozenset())


async def _codes(session: AsyncSession, class_codes: list[str] | None = None) -> list[str]:
    codes = classes_in_use(SCHOOL, class_codes)
    stmt = select(codes.c.class_code).order_by(codes.c.class_code)
    return list((await session.exec(stmt)).all())


async def test_classes_in_use_are_announced_ones_and_enrolled_students_classes(
    session: AsyncSession,
) -> None:
    assert await _codes(session) == ["101", "102", "103"]  # not a graduate's 104, not S4's None
    assert await _codes(session, ["102", "103", "104", "901"]) == ["102", "103"]
    assert await _codes(session, []) == []


async def test_classes_in_use_are_counted_optionally_of_a_grade(session: AsyncSession) -> None:
    assert await count_classes_in_use(session, SCHOOL, class_codes=None, grade=None) == 3
    assert await count_classes_in_use(session, SCHOOL, class_codes=None, grade=1) == 2
    assert await count_classes_in_use(session, SCHOOL, class_codes=["103"], grade=1) == 0


async def test_enrolled_students_join_their_class(session: AsyncSession) -> None:
    stmt = (
        select(KnownPerson.local_no, KnownClass.grade)
        .outerjoin(KnownClass, student_class_join())
        .where(*enrolled_students(SCHOOL))
        .order_by(col(KnownPerson.local_no))
    )
    assert list((await session.exec(stmt)).all()) == [("S1", 1), ("S2", None), ("S4", None)]
    stmt = select(KnownPerson.local_no).where(*enrolled_students(SCHOOL, ["103"]))
    assert list((await session.exec(stmt)).all()) == ["S2"]


async def test_a_class_joins_its_homeroom_teacher(session: AsyncSession) -> None:
    codes = classes_in_use(SCHOOL)
    homeroom, homeroom_join = homeroom_teacher(SCHOOL)
    stmt = (
        select(codes.c.class_code, homeroom.name)
        .select_from(codes)
        .outerjoin(KnownClass, class_join(SCHOOL, codes.c.class_code))
        .outerjoin(homeroom, homeroom_join)
        .order_by(codes.c.class_code)
    )
    rows = list((await session.exec(stmt)).all())  # type: ignore[call-overload]
    assert rows == [("101", "王導師"), ("102", None), ("103", None)]


async def test_school_wide_readers_see_what_they_ask_for(session: AsyncSession) -> None:
    grant = _grant(None)
    assert await visible_classes(session, grant, school_wide=True, class_code=None) is None
    assert await visible_classes(session, grant, school_wide=True, class_code="102") == ["102"]


async def test_a_homeroom_teacher_sees_their_own_classes_only(session: AsyncSession) -> None:
    grant = _grant(TEACHER)
    assert await visible_classes(session, grant, school_wide=False, class_code=None) == ["101"]
    assert await visible_classes(session, grant, school_wide=False, class_code="101") == ["101"]
    assert await visible_classes(session, grant, school_wide=False, class_code="102") == []
    nobody = _grant(None)
    assert await visible_classes(session, nobody, school_wide=False, class_code="101") == []
