"""The status queries: one aggregate query per page, scoped to a school and academic year.

A student's counts come from per-student aggregates joined to the roster: their 多元表現 records
of the year (self-filled and imported: filled, selected, per category), those records without a
proof file, and their 校內幹部 records of the year (both semesters). A class's counts are the
same aggregates grouped by the students' class.

The students list chooses its page first (ordered by the roster, or by the one count it is
sorted by), then counts only that page's students' records: the default order reads no more
records than the page holds. The xlsx downloads walk a list page by page
(`licheng.kit.spreadsheet.fetched_pages`), so memory stays flat. Every page is totally ordered
(ties broken by 學號 and id), so consecutive pages never overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.kit.roster import (
    class_join,
    classes_in_use,
    count_classes_in_use,
    enrolled_students,
    homeroom_teacher,
    of_grade,
    student_class_join,
)
from licheng.performances.models import (
    Cadre,
    Category,
    KnownClass,
    KnownPerson,
    Performance,
    PerformanceFile,
)

COUNTS = ("filled", "selected", "cadres", "proof_missing")
"""A student's (or class's) counts besides the per-category ones."""


def category_column(category: Category) -> str:
    """The result column holding a category's filled count."""
    return f"category_{category.value}"


CATEGORY_COLUMNS = tuple(category_column(c) for c in Category)


class StudentSort(StrEnum):
    CLASS = "class"  # 班級, then 座號
    STUDENT_NO = "student_no"  # 學號
    FILLED = "filled"
    SELECTED = "selected"
    CADRES = "cadres"
    PROOF_MISSING = "proof_missing"


@dataclass(frozen=True, slots=True)
class SchoolYear:
    """A school's academic year: what every status query is scoped to."""

    school_code: str
    academic_year: int


@dataclass(frozen=True, slots=True)
class StudentQuery:
    """學生填寫狀況: enrolled students, optionally of a grade or some classes.

    With `category`, filled / selected / proof_missing (and sorting by them) count that
    category's records only; the per-category breakdown always covers every category.
    """

    year: SchoolYear
    grade: int | None = None
    class_codes: Sequence[str] | None = None
    category: Category | None = None
    sort: StudentSort = StudentSort.CLASS
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ClassQuery:
    """班級填寫狀況: classes, optionally of a grade or some classes."""

    year: SchoolYear
    grade: int | None = None
    class_codes: Sequence[str] | None = None


def _count_when(condition: Any) -> Any:
    """How many rows of a group meet `condition` (`count(*) FILTER (WHERE …)`, 0 for none)."""
    return sa.func.count().filter(condition)


def _nulls_last(column: Any) -> Any:
    """Sorts NULLs after values on both engines (PostgreSQL and SQLite disagree by default)."""
    return sa.case((column.is_(None), 1), else_=0)


def _row(mapping: Any, integers: Sequence[str] = COUNTS) -> dict[str, Any]:
    """A result row as a dict with the per-category counts gathered into `by_category`.

    Sums may come back as Decimal from PostgreSQL, so every count is made an int.
    """
    row = dict(mapping)
    for name in integers:
        row[name] = int(row[name] or 0)
    row["by_category"] = {c.value: int(row.pop(category_column(c)) or 0) for c in Category}
    return row


# The aggregates ----------------------------------------------------------------------------


def _records(year: SchoolYear, category: Category | None = None) -> list[Any]:
    """The school's records of the year, optionally of one category."""
    found: list[Any] = [
        Performance.school_code == year.school_code,
        Performance.academic_year == year.academic_year,
    ]
    if category is not None:
        found.append(Performance.category == category)
    return found


def _unproved(year: SchoolYear) -> Any:
    """A record without any proof file: a `NOT EXISTS` in WHERE, which the planner runs as an
    anti-join (hashing the school's files for many records, probing the index for a page's)."""
    proof = select(PerformanceFile.id).where(
        PerformanceFile.school_code == year.school_code,
        col(PerformanceFile.performance_id) == col(Performance.id),
    )
    return ~proof.exists()


def _record_counts(category: Category | None) -> list[Any]:
    """filled, selected and filled per category over grouped records (with a category,
    filled and selected count its records only)."""
    counted: Any = sa.true() if category is None else col(Performance.category) == category
    return [
        _count_when(counted).label("filled"),
        _count_when(sa.and_(counted, col(Performance.selected).is_(True))).label("selected"),
        *(_count_when(col(Performance.category) == c).label(category_column(c))
          for c in Category),
    ]  # fmt: skip


def _per_student(stmt: Any, students: Any, name: str) -> Any:
    """An aggregate over records grouped per student of a select of ids."""
    return (
        stmt.where(col(Performance.student_id).in_(students))
        .group_by(col(Performance.student_id))
        .subquery(name)
    )


def _performance_counts(year: SchoolYear, students: Any, category: Category | None) -> Any:
    """Per student: their records of the year filled, selected and per category."""
    stmt = select(Performance.student_id, *_record_counts(category)).where(*_records(year))
    return _per_student(stmt, students, "performances")


def _unproved_counts(year: SchoolYear, students: Any, category: Category | None) -> Any:
    """Per student: their records of the year without a proof file."""
    stmt = select(Performance.student_id, sa.func.count().label("proof_missing")).where(
        *_records(year, category), _unproved(year)
    )
    return _per_student(stmt, students, "unproved")


def _cadre_counts(year: SchoolYear, students: Any) -> Any:
    """Per student: 校內幹部 records of the year (both semesters)."""
    return (
        select(Cadre.student_id, sa.func.count().label("cadres"))
        .where(
            Cadre.school_code == year.school_code,
            Cadre.academic_year == year.academic_year,
            col(Cadre.student_id).in_(students),
        )
        .group_by(col(Cadre.student_id))
        .subquery("cadres")
    )


def _counts_of(performances: Any, unproved: Any, cadres: Any) -> dict[str, Any]:
    """Each count (0 without records) by result column, from the three aggregates."""
    return {
        "filled": sa.func.coalesce(performances.c.filled, 0),
        "selected": sa.func.coalesce(performances.c.selected, 0),
        "cadres": sa.func.coalesce(cadres.c.cadres, 0),
        "proof_missing": sa.func.coalesce(unproved.c.proof_missing, 0),
        **{n: sa.func.coalesce(performances.c[n], 0) for n in CATEGORY_COLUMNS},
    }


# 學生填寫狀況 -------------------------------------------------------------------------------


def _student_filters(query: StudentQuery) -> list[Any]:
    filters = enrolled_students(query.year.school_code, query.class_codes)
    if query.grade is not None:
        filters.append(KnownClass.grade == query.grade)
    return filters


def _filtered_ids(query: StudentQuery) -> Any:
    """The ids of the students the query matches."""
    return (
        select(KnownPerson.id)
        .select_from(KnownPerson)
        .outerjoin(KnownClass, student_class_join())
        .where(*_student_filters(query))
    )


def _sort_key(query: StudentQuery) -> Any | None:
    """The per-student aggregate holding the count the list is sorted by (`key`), if any."""
    year, students, category = query.year, _filtered_ids(query), query.category
    if query.sort in (StudentSort.CLASS, StudentSort.STUDENT_NO):
        return None
    if query.sort == StudentSort.CADRES:
        aggregate, name = _cadre_counts(year, students), "cadres"
    elif query.sort == StudentSort.PROOF_MISSING:
        aggregate, name = _unproved_counts(year, students, category), "proof_missing"
    else:  # only the one count: the whole school's records are counted for it
        [key] = [c for c in _record_counts(category) if c.name == query.sort.value]
        stmt = select(Performance.student_id, key).where(*_records(year))
        aggregate, name = _per_student(stmt, students, "counted"), query.sort.value
    return select(aggregate.c.student_id, aggregate.c[name].label("key")).subquery("keyed")


def _student_order(query: StudentQuery, columns: Any, key: Any | None) -> list[Any]:
    """The list's total order over `columns` (the roster's or the page's) and the sort key."""

    def direction(column: Any) -> Any:
        return column.desc() if query.descending else column.asc()

    class_code, seat_no = columns.class_code, columns.seat_no
    if query.sort == StudentSort.CLASS:
        order = [_nulls_last(class_code), direction(class_code),
                 _nulls_last(seat_no), direction(seat_no)]  # fmt: skip
    elif query.sort == StudentSort.STUDENT_NO:
        order = [direction(columns.local_no)]
    else:  # a count, then 班級 and 座號 ascending
        order = [direction(key), _nulls_last(class_code), class_code.asc(),
                 _nulls_last(seat_no), seat_no.asc()]  # fmt: skip
    return [*order, columns.local_no.asc(), columns.id.asc()]


def _page(query: StudentQuery, offset: int, limit: int) -> Any:
    """One page of the students the query matches, in order, with their sort key (if any)."""
    keyed = _sort_key(query)
    key = sa.null() if keyed is None else sa.func.coalesce(keyed.c.key, 0)
    roster: Any = KnownPerson.__table__.c  # type: ignore[attr-defined]
    stmt = select(  # type: ignore[call-overload]
        KnownPerson.id, KnownPerson.local_no, KnownPerson.name, KnownPerson.class_code,
        KnownPerson.seat_no, KnownClass.grade, key.label("key"),
    ).select_from(KnownPerson).outerjoin(KnownClass, student_class_join())  # fmt: skip
    if keyed is not None:
        stmt = stmt.outerjoin(keyed, keyed.c.student_id == col(KnownPerson.id))
    return (
        stmt.where(*_student_filters(query))
        .order_by(*_student_order(query, roster, key))
        .offset(offset)
        .limit(limit)
        .cte("page")  # computed once, though every aggregate reads its ids
    )


async def students(
    session: AsyncSession, *, query: StudentQuery, offset: int, limit: int
) -> list[dict[str, Any]]:
    """A page of enrolled students with their counts for the year."""
    page = _page(query, offset, limit)
    ids = select(page.c.id)
    performances = _performance_counts(query.year, ids, query.category)
    unproved = _unproved_counts(query.year, ids, query.category)
    cadres = _cadre_counts(query.year, ids)
    stmt = (
        select(  # type: ignore[call-overload]
            page.c.id, page.c.local_no, page.c.name, page.c.class_code, page.c.seat_no,
            page.c.grade,
            *(c.label(n) for n, c in _counts_of(performances, unproved, cadres).items()),
        )
        .select_from(page)
        .outerjoin(performances, performances.c.student_id == page.c.id)
        .outerjoin(unproved, unproved.c.student_id == page.c.id)
        .outerjoin(cadres, cadres.c.student_id == page.c.id)
        .order_by(*_student_order(query, page.c, page.c.key))
    )  # fmt: skip
    return [_row(r._mapping) for r in (await session.exec(stmt)).all()]


async def count_students(session: AsyncSession, *, query: StudentQuery) -> int:
    """How many enrolled students the query matches."""
    stmt = select(sa.func.count()).select_from(_filtered_ids(query).subquery("matched"))
    return int((await session.exec(stmt)).one())


# 班級填寫狀況 -------------------------------------------------------------------------------


def _per_class(query: ClassQuery, of: Any, student_id: Any, *columns: Any) -> Any:
    """`columns` over the rows of `of` grouped by their enrolled student's class."""
    enrolled = sa.and_(
        col(KnownPerson.id) == student_id,
        *enrolled_students(query.year.school_code, query.class_codes),
        col(KnownPerson.class_code).is_not(None),
    )
    return (
        select(KnownPerson.class_code, *columns)
        .select_from(of)
        .join(KnownPerson, enrolled)
        .group_by(col(KnownPerson.class_code))
    )


async def classes(
    session: AsyncSession, *, query: ClassQuery, offset: int, limit: int
) -> list[dict[str, Any]]:
    """A page of classes: 導師, enrolled students, those with records, and their counts."""
    year = query.year
    with_records = sa.func.count(sa.distinct(col(Performance.student_id)))
    student_id = col(Performance.student_id)
    performances = (
        _per_class(query, Performance, student_id, with_records.label("students_with_records"),
                   *_record_counts(None))
        .where(*_records(year))
        .subquery("performances")
    )  # fmt: skip
    unproved = (
        _per_class(query, Performance, student_id, sa.func.count().label("proof_missing"))
        .where(*_records(year), _unproved(year))
        .subquery("unproved")
    )
    cadres = (
        _per_class(query, Cadre, col(Cadre.student_id), sa.func.count().label("cadres"))
        .where(Cadre.school_code == year.school_code, Cadre.academic_year == year.academic_year)
        .subquery("cadres")
    )
    people = (
        select(KnownPerson.class_code, sa.func.count().label("students"))
        .where(*enrolled_students(year.school_code, query.class_codes))
        .group_by(col(KnownPerson.class_code))
        .subquery("people")
    )
    codes = classes_in_use(year.school_code, query.class_codes)
    homeroom, homeroom_join = homeroom_teacher(year.school_code)
    stmt = (
        select(  # type: ignore[call-overload]
            codes.c.class_code, KnownClass.grade,
            col(KnownClass.homeroom_person_id).label("homeroom_id"),
            homeroom.name.label("homeroom_name"),
            sa.func.coalesce(people.c.students, 0).label("students"),
            sa.func.coalesce(performances.c.students_with_records, 0).label(
                "students_with_records"),
            *(c.label(n) for n, c in _counts_of(performances, unproved, cadres).items()),
        )
        .select_from(codes)
        .outerjoin(KnownClass, class_join(year.school_code, codes.c.class_code))
        .outerjoin(people, people.c.class_code == codes.c.class_code)
        .outerjoin(performances, performances.c.class_code == codes.c.class_code)
        .outerjoin(unproved, unproved.c.class_code == codes.c.class_code)
        .outerjoin(cadres, cadres.c.class_code == codes.c.class_code)
        .outerjoin(homeroom, homeroom_join)
        .where(*of_grade(query.grade))
        .order_by(codes.c.class_code)
        .offset(offset)
        .limit(limit)
    )  # fmt: skip
    rows = (await session.exec(stmt)).all()
    return [_row(r._mapping, ("students", "students_with_records", *COUNTS)) for r in rows]


async def count_classes(session: AsyncSession, *, query: ClassQuery) -> int:
    """How many classes the query matches."""
    return await count_classes_in_use(
        session, query.year.school_code, class_codes=query.class_codes, grade=query.grade
    )
