"""Queries on the identity read model: the kit's, plus linking imported 修課紀錄 to people."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.models import CourseSection, Enrolment
from licheng.kit.roster import KnownPerson
from licheng.kit.roster import get_class as get_class
from licheng.kit.roster import get_person as get_person
from licheng.kit.roster import get_roles as get_roles
from licheng.kit.roster import homeroom_classes as homeroom_classes
from licheng.kit.roster import local_numbers as local_numbers
from licheng.kit.roster import people_by_ids as people_by_ids


async def link_teacher(session: AsyncSession, person: KnownPerson) -> None:
    """Give sections imported before identity announced this teacher their teacher id."""
    stmt = select(CourseSection).where(
        CourseSection.school_code == person.school_code,
        CourseSection.teacher_no == person.local_no,
        col(CourseSection.teacher_id).is_(None),
    )
    for section in (await session.exec(stmt)).all():
        section.teacher_id = person.id
        section.certifier_id = section.certifier_id or person.id


async def link_student(session: AsyncSession, person: KnownPerson) -> None:
    """Give enrolments imported before identity announced this student their student id."""
    stmt = select(Enrolment).where(
        Enrolment.school_code == person.school_code,
        Enrolment.student_no == person.local_no,
        col(Enrolment.student_id).is_(None),
    )
    for enrolment in (await session.exec(stmt)).all():
        enrolment.student_id = person.id
