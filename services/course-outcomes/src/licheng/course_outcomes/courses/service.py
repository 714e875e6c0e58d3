"""Importing a term's 修課紀錄: validate everything, then upsert sections and enrolments.

All or nothing; re-importing the same file changes nothing. Each section's 授課教師 becomes its
certifying teacher unless it was reassigned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import CoursesImported
from licheng.course_outcomes.courses import repository
from licheng.course_outcomes.courses.parsing import (
    parse_course_records,
    read_course_table,
    sections_of,
)
from licheng.course_outcomes.models import CourseSection, Enrolment, PersonKind
from licheng.course_outcomes.roster import repository as roster
from licheng.kit.changes import record_change
from licheng.kit.tabular import in_worker


@dataclass(frozen=True)
class CourseImportSummary:
    academic_year: int
    semester: int
    rows: int
    sections_created: int
    sections_updated: int
    enrolments_created: int
    enrolments_updated: int

    @property
    def changed(self) -> bool:
        """True when the import wrote anything."""
        return any(
            (
                self.sections_created,
                self.sections_updated,
                self.enrolments_created,
                self.enrolments_updated,
            )
        )


async def import_course_records(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    data: bytes,
    filename: str,
    actor_id: uuid.UUID | None,
) -> CourseImportSummary:
    """Upsert a term's sections and enrolments from the school system's export."""
    students = await roster.local_numbers(session, school_code, PersonKind.STUDENT)
    teachers = await roster.local_numbers(session, school_code, PersonKind.STAFF)
    table = await in_worker(read_course_table, data, filename)
    parsed = await in_worker(
        parse_course_records,
        table,
        term=(academic_year, semester),
        known_student_nos=set(students),
        known_teacher_nos=set(teachers),
    )
    parsed.raise_for_errors(what="修課紀錄")
    sections = await repository.sections_of_term(session, school_code, academic_year, semester)
    enrolments = await repository.enrolments_of_term(session, school_code, academic_year, semester)
    counts = {
        "sections_created": 0,
        "sections_updated": 0,
        "enrolments_created": 0,
        "enrolments_updated": 0,
    }
    for key, rows in sections_of(parsed.rows).items():
        first = rows[0]
        section = sections.get((key.course_code, key.teacher_no))
        teacher_id = teachers.get(key.teacher_no)
        wanted = (first.subject_name, first.credits, first.grade)
        if section is None:
            section = CourseSection(
                school_code=school_code,
                academic_year=academic_year,
                semester=semester,
                course_code=key.course_code,
                subject_name=first.subject_name,
                credits=first.credits,
                grade=first.grade,
                teacher_no=key.teacher_no,
                teacher_id=teacher_id,
                certifier_id=teacher_id,
            )
            session.add(section)
            counts["sections_created"] += 1
        elif (section.subject_name, section.credits, section.grade) != wanted:
            section.subject_name, section.credits, section.grade = wanted
            counts["sections_updated"] += 1
        await session.flush()
        for row in rows:
            extra = (row.original_academic_year, row.original_semester, row.retake_method)
            enrolment = enrolments.get((section.id, row.student_no, row.kind.value))
            if enrolment is None:
                session.add(Enrolment(
                    school_code=school_code, section_id=section.id, student_no=row.student_no,
                    student_id=students.get(row.student_no), kind=row.kind.value,
                    original_academic_year=extra[0], original_semester=extra[1],
                    retake_method=extra[2],
                ))  # fmt: skip
                counts["enrolments_created"] += 1
            elif (enrolment.original_academic_year, enrolment.original_semester,
                  enrolment.retake_method) != extra:  # fmt: skip
                (enrolment.original_academic_year, enrolment.original_semester,
                 enrolment.retake_method) = extra  # fmt: skip
                counts["enrolments_updated"] += 1
    summary = CourseImportSummary(academic_year, semester, len(parsed.rows), **counts)
    if summary.changed:
        await session.flush()
        record_change(
            session,
            school_code=school_code,
            actor_id=actor_id,
            entity="term",
            entity_id=f"{academic_year}-{semester}",
            event=CoursesImported(
                academic_year=academic_year, semester=semester, rows=summary.rows, **counts
            ),
            after=dict(counts),
        )
    return summary
