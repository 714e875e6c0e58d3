"""Importing students, staff and classes: validate everything, then write all or nothing.

Re-importing the same file changes nothing: rows are matched by 學號 / 教師編號 / 班級代碼
and only rows whose values differ are written, announced and audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import ClassUpserted, PersonUpserted
from licheng.identity.crypto import PiiCipher
from licheng.identity.imports import (
    RowError,
    StudentRow,
    parse_classes,
    parse_staff,
    parse_students,
    read_table,
)
from licheng.identity.models import Person, PersonKind, SchoolClass
from licheng.identity.people import repository
from licheng.kit.changes import record_change
from licheng.kit.tabular import in_worker, raise_invalid_rows
from licheng.kit.timeutil import utcnow

NATIONAL_ID = "national_id"
BIRTH_DATE = "birth_date"


@dataclass(frozen=True)
class ImportSummary:
    kind: str
    total: int
    created: int
    updated: int
    unchanged: int


def username_for(school_code: str, kind: PersonKind, local_no: str) -> str:
    """Sign-in name: `<school>-s-<學號>` for students, `<school>-t-<教師編號>` for staff."""
    letter = "s" if kind == PersonKind.STUDENT else "t"
    return f"{school_code}-{letter}-{local_no}".lower()


def person_public_fields(person: Person) -> dict[str, Any]:
    """What an event or audit row may say about a person (never 身分證號 or birth date)."""
    return person_event(person).model_dump(mode="json")


def person_event(person: Person) -> PersonUpserted:
    """The `person.upserted` event of a person as they are now."""
    return PersonUpserted(
        person_id=person.id,
        kind="student" if person.kind == PersonKind.STUDENT else "staff",
        local_no=person.local_no,
        name=person.name,
        username=person.username,
        class_code=person.class_code,
        seat_no=person.seat_no,
        status=person.status.value if person.status else None,
    )


def announce_person(
    session: AsyncSession, person: Person, before: dict[str, Any] | None, actor: uuid.UUID | None
) -> None:
    """Audit a created or changed person and publish `person.upserted`."""
    event = person_event(person)
    record_change(
        session,
        school_code=person.school_code,
        actor_id=actor,
        entity="person",
        entity_id=person.id,
        event=event,
        action="person.created" if before is None else "person.updated",
        before=before,
        after=event.model_dump(mode="json"),
    )


def _person_to_write(
    session: AsyncSession,
    person: Person | None,
    *,
    school_code: str,
    kind: PersonKind,
    local_no: str,
    name: str,
) -> Person:
    """The existing person (its version is checked and bumped by the flush) or a new one."""
    if person is None:
        person = Person(
            school_code=school_code,
            kind=kind,
            local_no=local_no,
            username=username_for(school_code, kind, local_no),
            name=name,
        )
        session.add(person)
    else:
        person.updated_at = utcnow()
        person.name = name
    return person


async def import_students(
    session: AsyncSession,
    *,
    school_code: str,
    data: bytes,
    filename: str,
    cipher: PiiCipher,
    actor_id: uuid.UUID | None,
) -> ImportSummary:
    """Upsert students by 學號."""
    classes = await repository.classes_by_code(session, school_code)
    table = await in_worker(read_table, data, filename)
    parsed = await in_worker(parse_students, table, known_class_codes=set(classes))
    errors = list(parsed.errors)
    existing = await repository.people_by_local_no(session, school_code, PersonKind.STUDENT)
    indexes = {r.row: cipher.blind_index(r.national_id, context=NATIONAL_ID) for r in parsed.rows}
    holders = await repository.holders_of_national_ids(session, school_code, indexes.values())
    for row in parsed.rows:
        holder = holders.get(indexes[row.row])
        if holder is not None and holder != row.student_no:
            errors.append(
                RowError(
                    sheet=table.sheet,
                    row=row.row,
                    column="身分證號",
                    code="national_id_taken",
                    message="此身分證號已屬於本校另一位學生",
                )
            )
    raise_invalid_rows(errors)
    created = updated = 0
    for row in parsed.rows:
        person = existing.get(row.student_no)
        change = _student_change(person, row, indexes[row.row], cipher)
        if not change:
            continue
        before = person_public_fields(person) if person is not None else None
        person = _person_to_write(
            session,
            person,
            school_code=school_code,
            kind=PersonKind.STUDENT,
            local_no=row.student_no,
            name=row.name,
        )
        created, updated = (created + 1, updated) if before is None else (created, updated + 1)
        person.class_code = row.class_code
        person.seat_no = row.seat_no
        person.status = row.status
        if row.email:
            person.email = row.email
        if "pii" in change:
            person.national_id_enc = cipher.encrypt(row.national_id, context=NATIONAL_ID)
            person.national_id_index = indexes[row.row]
            person.birth_date_enc = cipher.encrypt(row.birth_date.isoformat(), context=BIRTH_DATE)
        await session.flush()
        announce_person(session, person, before, actor_id)
    total = len(parsed.rows)
    return ImportSummary("students", total, created, updated, total - created - updated)


def _student_change(
    person: Person | None, row: StudentRow, index: str, cipher: PiiCipher
) -> set[str]:
    if person is None:
        return {"new", "pii"}
    changed: set[str] = set()
    status = person.status.value if person.status else None
    if (person.name, person.class_code, person.seat_no, status) != (
        row.name,
        row.class_code,
        row.seat_no,
        row.status.value,
    ) or (row.email and row.email != person.email):
        changed.add("fields")
    birth = (
        cipher.decrypt(person.birth_date_enc, context=BIRTH_DATE) if person.birth_date_enc else None
    )
    if person.national_id_index != index or birth != row.birth_date.isoformat():
        changed.add("pii")
    return changed


async def import_staff(
    session: AsyncSession,
    *,
    school_code: str,
    data: bytes,
    filename: str,
    actor_id: uuid.UUID | None,
) -> ImportSummary:
    """Upsert staff by 教師編號."""
    parsed = await in_worker(parse_staff, await in_worker(read_table, data, filename))
    parsed.raise_for_errors()
    existing = await repository.people_by_local_no(session, school_code, PersonKind.STAFF)
    created = updated = 0
    for row in parsed.rows:
        person = existing.get(row.staff_no)
        if person is not None and (person.name, person.email) == (row.name, row.email):
            continue
        before = person_public_fields(person) if person is not None else None
        person = _person_to_write(
            session,
            person,
            school_code=school_code,
            kind=PersonKind.STAFF,
            local_no=row.staff_no,
            name=row.name,
        )
        created, updated = (created + 1, updated) if before is None else (created, updated + 1)
        person.email = row.email
        await session.flush()
        announce_person(session, person, before, actor_id)
    total = len(parsed.rows)
    return ImportSummary("staff", total, created, updated, total - created - updated)


async def import_classes(
    session: AsyncSession,
    *,
    school_code: str,
    data: bytes,
    filename: str,
    actor_id: uuid.UUID | None,
) -> ImportSummary:
    """Upsert classes by 班級代碼, with their 導師."""
    staff = await repository.people_by_local_no(session, school_code, PersonKind.STAFF)
    table = await in_worker(read_table, data, filename)
    parsed = await in_worker(parse_classes, table, known_staff_nos=set(staff))
    parsed.raise_for_errors()
    existing = await repository.classes_by_code(session, school_code)
    created = updated = 0
    for row in parsed.rows:
        homeroom = staff[row.homeroom_staff_no].id if row.homeroom_staff_no else None
        school_class = existing.get(row.class_code)
        if school_class is not None and (
            school_class.grade,
            school_class.name,
            school_class.homeroom_person_id,
        ) == (row.grade, row.name, homeroom):
            continue
        before = _class_fields(school_class) if school_class is not None else None
        previous_homeroom = school_class.homeroom_person_id if school_class else None
        if school_class is None:
            school_class = SchoolClass(
                school_code=school_code, class_code=row.class_code, grade=row.grade
            )
            session.add(school_class)
            created += 1
        else:
            updated += 1
        school_class.grade = row.grade
        school_class.name = row.name
        school_class.homeroom_person_id = homeroom
        await session.flush()
        after = _class_fields(school_class)
        record_change(
            session,
            school_code=school_code,
            actor_id=actor_id,
            entity="class",
            entity_id=school_class.id,
            event=ClassUpserted(**after, previous_homeroom_person_id=previous_homeroom),
            action="class.created" if before is None else "class.updated",
            before=before,
            after=after,
        )
    total = len(parsed.rows)
    return ImportSummary("classes", total, created, updated, total - created - updated)


def _class_fields(school_class: SchoolClass) -> dict[str, Any]:
    return {
        "class_id": str(school_class.id),
        "class_code": school_class.class_code,
        "grade": school_class.grade,
        "name": school_class.name,
        "homeroom_person_id": (
            str(school_class.homeroom_person_id) if school_class.homeroom_person_id else None
        ),
    }
