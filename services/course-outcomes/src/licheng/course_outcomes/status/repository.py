"""The status queries: one aggregate query per page, scoped to a school and term.

Each list has a query object (its school, term and filters), a page function and a total
function; the xlsx downloads walk the page function (`licheng.kit.spreadsheet.fetched_pages`),
so memory stays flat. The roster's pieces (enrolled students, classes in use, 導師) come from
`licheng.kit.roster`. Every page is totally ordered (ties broken by an id), so consecutive
pages never overlap.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.models import (
    CourseSection,
    Enrolment,
    KnownClass,
    KnownPerson,
    Outcome,
    OutcomeStatus,
)
from licheng.kit.roster import (
    class_join,
    classes_in_use,
    count_classes_in_use,
    enrolled_students,
    homeroom_teacher,
    of_grade,
    student_class_join,
)

COUNTS = ("filled", "submitted", "certified", "failed", "selected")


class StudentSort(StrEnum):
    CLASS = "class"
    SEAT_NO = "seat_no"
    STUDENT_NO = "student_no"
    FILLED = "filled"
    SUBMITTED = "submitted"
    CERTIFIED = "certified"
    FAILED = "failed"
    SELECTED = "selected"


@dataclass(frozen=True, slots=True)
class Term:
    """A school's term: what every status query is scoped to."""

    school_code: str
    academic_year: int
    semester: int


@dataclass(frozen=True, slots=True)
class StudentQuery:
    """學生填寫狀況: enrolled students, optionally of a grade, some classes or a course."""

    term: Term
    grade: int | None = None
    class_codes: Sequence[str] | None = None
    course_code: str | None = None
    sort: StudentSort = StudentSort.CLASS
    descending: bool = False


@dataclass(frozen=True, slots=True)
class TeacherQuery:
    """教師認證狀況: certifying teachers, optionally some of them."""

    term: Term
    teacher_ids: Sequence[uuid.UUID] | None = None


@dataclass(frozen=True, slots=True)
class CourseQuery:
    """課程填寫狀況: the term's sections, optionally of a 課程代碼 or a certifying teacher."""

    term: Term
    course_code: str | None = None
    certifier_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class ClassQuery:
    """班級填寫狀況: classes, optionally of a grade or some classes."""

    term: Term
    grade: int | None = None
    class_codes: Sequence[str] | None = None


def _count_when(condition: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _outcome_counts(outcome: Any = Outcome) -> dict[str, Any]:
    """filled / submitted / certified / failed / selected over joined outcome rows."""
    return {
        "filled": sa.func.count(outcome.id),
        "submitted": _count_when(outcome.status == OutcomeStatus.SUBMITTED),
        "certified": _count_when(outcome.status == OutcomeStatus.CERTIFIED),
        "failed": _count_when(outcome.status == OutcomeStatus.FAILED),
        "selected": _count_when(outcome.selected.is_(True)),
    }


def _in_term(term: Term) -> list[Any]:
    return [
        col(Outcome.school_code) == term.school_code,
        col(Outcome.academic_year) == term.academic_year,
        col(Outcome.semester) == term.semester,
    ]


def _nulls_last(column: Any) -> Any:
    """Sorts NULLs after values on both engines (PostgreSQL and SQLite disagree by default)."""
    return sa.case((column.is_(None), 1), else_=0)


def _row(mapping: Any, integers: Sequence[str] = COUNTS) -> dict[str, Any]:
    """A result row as a dict; sums come back as Decimal from PostgreSQL, so make them ints."""
    row = dict(mapping)
    for name in integers:
        row[name] = int(row[name] or 0)
    return row


# 學生填寫狀況 -------------------------------------------------------------------------------


def _student_filters(query: StudentQuery) -> list[Any]:
    term = query.term
    filters = enrolled_students(term.school_code, query.class_codes)
    if query.grade is not None:
        filters.append(KnownClass.grade == query.grade)
    if query.course_code is not None:
        taking = (
            select(Enrolment.student_id)
            .join(CourseSection, col(CourseSection.id) == col(Enrolment.section_id))
            .where(
                Enrolment.school_code == term.school_code,
                CourseSection.school_code == term.school_code,
                CourseSection.academic_year == term.academic_year,
                CourseSection.semester == term.semester,
                CourseSection.course_code == query.course_code,
                col(Enrolment.student_id).is_not(None),
            )
        )
        filters.append(col(KnownPerson.id).in_(taking))
    return filters


def _student_order(query: StudentQuery, counts: dict[str, Any]) -> list[Any]:
    columns: dict[StudentSort, list[Any]] = {
        StudentSort.CLASS: [col(KnownPerson.class_code)],
        StudentSort.SEAT_NO: [col(KnownPerson.class_code), col(KnownPerson.seat_no)],
        StudentSort.STUDENT_NO: [col(KnownPerson.local_no)],
    }
    keys = columns.get(query.sort) or [counts[query.sort.value]]
    order: list[Any] = []
    for key in keys:
        if query.sort in (StudentSort.CLASS, StudentSort.SEAT_NO):
            order.append(_nulls_last(key))
        order.append(key.desc() if query.descending else key.asc())
    return [*order, col(KnownPerson.local_no).asc(), col(KnownPerson.id).asc()]


async def students(
    session: AsyncSession, *, query: StudentQuery, offset: int, limit: int
) -> list[dict[str, Any]]:
    """A page of enrolled students with their outcome counts for the term."""
    outcome_join = sa.and_(col(Outcome.student_id) == col(KnownPerson.id), *_in_term(query.term))
    counts = _outcome_counts()
    stmt = (
        select(  # type: ignore[call-overload]
            KnownPerson.id, KnownPerson.local_no, KnownPerson.name, KnownPerson.class_code,
            KnownPerson.seat_no, KnownClass.grade, *(c.label(n) for n, c in counts.items()),
            sa.func.max(col(Outcome.submitted_at)).label("last_submitted_at"),
        )
        .select_from(KnownPerson)
        .outerjoin(KnownClass, student_class_join())
        .outerjoin(Outcome, outcome_join)
        .where(*_student_filters(query))
        .group_by(KnownPerson.id, KnownPerson.local_no, KnownPerson.name,
                  KnownPerson.class_code, KnownPerson.seat_no, KnownClass.grade)
        .order_by(*_student_order(query, counts))
        .offset(offset)
        .limit(limit)
    )  # fmt: skip
    return [_row(r._mapping) for r in (await session.exec(stmt)).all()]


async def count_students(session: AsyncSession, *, query: StudentQuery) -> int:
    """How many enrolled students the query matches."""
    stmt = (
        select(sa.func.count())
        .select_from(KnownPerson)
        .outerjoin(KnownClass, student_class_join())
        .where(*_student_filters(query))
    )
    return int((await session.exec(stmt)).one())


# 教師認證狀況 -------------------------------------------------------------------------------


def _teacher_filters(query: TeacherQuery) -> list[Any]:
    filters: list[Any] = [*_in_term(query.term), col(Outcome.certifier_id).is_not(None)]
    if query.teacher_ids is not None:
        filters.append(col(Outcome.certifier_id).in_(list(query.teacher_ids)))
    return filters


async def teachers(
    session: AsyncSession, *, query: TeacherQuery, offset: int, limit: int
) -> list[dict[str, Any]]:
    """A page of certifying teachers: pending, succeeded and failed outcomes of the term."""
    person_join = sa.and_(
        col(KnownPerson.id) == col(Outcome.certifier_id),
        col(KnownPerson.school_code) == query.term.school_code,
    )
    stmt = (
        select(  # type: ignore[call-overload]
            Outcome.certifier_id, KnownPerson.local_no, KnownPerson.name,
            _count_when(col(Outcome.status) == OutcomeStatus.SUBMITTED).label("pending"),
            _count_when(col(Outcome.status) == OutcomeStatus.CERTIFIED).label("succeeded"),
            _count_when(col(Outcome.status) == OutcomeStatus.FAILED).label("failed"),
            sa.func.max(col(Outcome.decided_at)).label("last_decided_at"),
        )
        .select_from(Outcome)
        .outerjoin(KnownPerson, person_join)
        .where(*_teacher_filters(query))
        .group_by(Outcome.certifier_id, KnownPerson.local_no, KnownPerson.name)
        .order_by(_nulls_last(col(KnownPerson.local_no)), col(KnownPerson.local_no),
                  col(Outcome.certifier_id))
        .offset(offset)
        .limit(limit)
    )  # fmt: skip
    rows = (await session.exec(stmt)).all()
    return [_row(r._mapping, ("pending", "succeeded", "failed")) for r in rows]


async def count_teachers(session: AsyncSession, *, query: TeacherQuery) -> int:
    """How many certifying teachers have outcomes in the term."""
    stmt = select(sa.func.count(sa.distinct(col(Outcome.certifier_id)))).where(
        *_teacher_filters(query)
    )
    return int((await session.exec(stmt)).one())


# 課程填寫狀況 -------------------------------------------------------------------------------


def _course_filters(query: CourseQuery) -> list[Any]:
    term = query.term
    filters: list[Any] = [
        CourseSection.school_code == term.school_code,
        CourseSection.academic_year == term.academic_year,
        CourseSection.semester == term.semester,
    ]
    if query.course_code is not None:
        filters.append(CourseSection.course_code == query.course_code)
    if query.certifier_id is not None:
        filters.append(CourseSection.certifier_id == query.certifier_id)
    return filters


async def courses(
    session: AsyncSession, *, query: CourseQuery, offset: int, limit: int
) -> list[dict[str, Any]]:
    """A page of the term's sections: their teachers, enrolled students and outcome counts."""
    term = query.term
    section_filters = _course_filters(query)
    order = (col(CourseSection.course_code), col(CourseSection.teacher_no), col(CourseSection.id))
    # The page's sections, so the aggregates below count only their rows, not the whole term's.
    page = select(CourseSection.id).where(*section_filters).order_by(*order)
    page_ids = page.offset(offset).limit(limit)
    enrolled = (
        select(
            Enrolment.section_id,
            sa.func.count(sa.distinct(col(Enrolment.student_no))).label("students"),
        )
        .where(Enrolment.school_code == term.school_code, col(Enrolment.section_id).in_(page_ids))
        .group_by(col(Enrolment.section_id))
        .subquery("enrolled")
    )
    counted = (
        select(Outcome.section_id, *(c.label(n) for n, c in _outcome_counts().items()))
        .where(*_in_term(term), col(Outcome.section_id).in_(page_ids))
        .group_by(Outcome.section_id)
        .subquery("counted")
    )
    teacher: Any = aliased(KnownPerson, name="teacher")
    certifier: Any = aliased(KnownPerson, name="certifier")

    def person(alias: Any, column: Any) -> Any:
        return sa.and_(alias.id == column, alias.school_code == term.school_code)

    stmt = (
        select(  # type: ignore[call-overload]
            col(CourseSection.id).label("section_id"), CourseSection.course_code,
            CourseSection.subject_name, CourseSection.grade, CourseSection.teacher_id,
            col(CourseSection.teacher_no).label("teacher_no"),
            teacher.name.label("teacher_name"), CourseSection.certifier_id,
            certifier.local_no.label("certifier_no"), certifier.name.label("certifier_name"),
            sa.func.coalesce(enrolled.c.students, 0).label("students"),
            *(sa.func.coalesce(counted.c[n], 0).label(n) for n in COUNTS),
        )
        .select_from(CourseSection)
        .outerjoin(enrolled, enrolled.c.section_id == col(CourseSection.id))
        .outerjoin(counted, counted.c.section_id == col(CourseSection.id))
        .outerjoin(teacher, person(teacher, col(CourseSection.teacher_id)))
        .outerjoin(certifier, person(certifier, col(CourseSection.certifier_id)))
        .where(*section_filters)
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )  # fmt: skip
    return [_row(r._mapping, ("students", *COUNTS)) for r in (await session.exec(stmt)).all()]


async def count_courses(session: AsyncSession, *, query: CourseQuery) -> int:
    """How many sections of the term the query matches."""
    stmt = select(sa.func.count()).select_from(CourseSection).where(*_course_filters(query))
    return int((await session.exec(stmt)).one())


# 班級填寫狀況 -------------------------------------------------------------------------------


async def classes(
    session: AsyncSession, *, query: ClassQuery, offset: int, limit: int
) -> list[dict[str, Any]]:
    """A page of classes: 導師, enrolled students, those with outcomes, and outcome counts."""
    term = query.term
    outcome_join = sa.and_(col(Outcome.student_id) == col(KnownPerson.id), *_in_term(term))
    per_student = (
        select(
            KnownPerson.class_code, *(c.label(n) for n, c in _outcome_counts().items())
        )
        .select_from(KnownPerson)
        .outerjoin(Outcome, outcome_join)
        .where(*enrolled_students(term.school_code, query.class_codes),
               col(KnownPerson.class_code).is_not(None))
        .group_by(KnownPerson.id, KnownPerson.class_code)
        .subquery("per_student")
    )  # fmt: skip
    per_class = (
        select(
            per_student.c.class_code,
            sa.func.count().label("students"),
            _count_when(per_student.c.filled > 0).label("students_with_outcomes"),
            *(sa.func.sum(per_student.c[n]).label(n) for n in COUNTS),
        )
        .group_by(per_student.c.class_code)
        .subquery("per_class")
    )
    codes = classes_in_use(term.school_code, query.class_codes)
    homeroom, homeroom_join = homeroom_teacher(term.school_code)
    stmt = (
        select(  # type: ignore[call-overload]
            codes.c.class_code, KnownClass.grade,
            col(KnownClass.homeroom_person_id).label("homeroom_id"),
            homeroom.local_no.label("homeroom_no"), homeroom.name.label("homeroom_name"),
            sa.func.coalesce(per_class.c.students, 0).label("students"),
            sa.func.coalesce(per_class.c.students_with_outcomes, 0).label(
                "students_with_outcomes"),
            *(sa.func.coalesce(per_class.c[n], 0).label(n) for n in COUNTS),
        )
        .select_from(codes)
        .outerjoin(KnownClass, class_join(term.school_code, codes.c.class_code))
        .outerjoin(per_class, per_class.c.class_code == codes.c.class_code)
        .outerjoin(homeroom, homeroom_join)
        .where(*of_grade(query.grade))
        .order_by(codes.c.class_code)
        .offset(offset)
        .limit(limit)
    )  # fmt: skip
    rows = (await session.exec(stmt)).all()
    return [_row(r._mapping, ("students", "students_with_outcomes", *COUNTS)) for r in rows]


async def count_classes(session: AsyncSession, *, query: ClassQuery) -> int:
    """How many classes the query matches."""
    return await count_classes_in_use(
        session, query.term.school_code, class_codes=query.class_codes, grade=query.grade
    )
