"""Identity's internal endpoints for exports, service accounts only, every call audited.

- `POST /internal/v1/identifiers`: 身分證號 and 出生日期 of given students, in batch; the caller
  keeps the values no longer than one export job.
- `POST /internal/v1/students/match`: the reverse, for the 收訖明細 import: (身分證號, 出生日期)
  pairs in the body (never in a URL) → the student ids holding them, found through the blind
  index and checked against the decrypted 出生日期. The answer holds ids only, in asked order.

They live outside `/api/` so the gateway never routes them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from licheng.contracts.schools import SchoolCode
from licheng.identity.deps import CipherDep
from licheng.identity.imports.national_id import normalise_national_id
from licheng.identity.people import repository
from licheng.identity.people.imports import BIRTH_DATE, NATIONAL_ID
from licheng.kit.audit import record_audit
from licheng.kit.auth import Principal
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.permissions import require_service

router = APIRouter(prefix="/internal/v1", tags=["internal"], responses=error_responses())


class IdentifiersRequest(BaseModel):
    school_code: SchoolCode = Field(description="the school whose roster is being built")
    student_ids: list[uuid.UUID] = Field(min_length=1, max_length=5000)
    purpose: str = Field(min_length=1, max_length=200, description="e.g. the export job id")


class StudentIdentifiers(BaseModel):
    student_id: uuid.UUID
    school_code: str
    national_id: str
    birth_date: str


class IdentifiersResponse(BaseModel):
    items: list[StudentIdentifiers]
    missing: list[uuid.UUID]


@router.post("/identifiers", response_model=IdentifiersResponse, summary="（服務專用）學生身分資料")
async def read_identifiers(
    payload: IdentifiersRequest,
    session: SessionDep,
    cipher: CipherDep,
    response: Response,
    caller: Principal = require_service(),
) -> IdentifiersResponse:
    """Decrypt identifiers for the given students; every disclosure is audited per school."""
    response.headers["cache-control"] = "no-store"
    people = await repository.people_by_ids(session, payload.school_code, payload.student_ids)
    items: list[StudentIdentifiers] = []
    by_school: dict[str, list[str]] = defaultdict(list)
    for person in people:
        if person.national_id_enc is None or person.birth_date_enc is None:
            continue
        items.append(
            StudentIdentifiers(
                student_id=person.id,
                school_code=person.school_code,
                national_id=cipher.decrypt(person.national_id_enc, context=NATIONAL_ID),
                birth_date=cipher.decrypt(person.birth_date_enc, context=BIRTH_DATE),
            )
        )
        by_school[person.school_code].append(str(person.id))
    for school_code, ids in by_school.items():
        record_audit(
            session,
            school_code=school_code,
            actor_id=None,
            action="identifiers.disclosed",
            entity="student",
            entity_id=f"{len(ids)} students",
            after={"client": caller.client_id, "purpose": payload.purpose, "student_ids": ids},
        )
    found = {item.student_id for item in items}
    return IdentifiersResponse(
        items=items, missing=[i for i in payload.student_ids if i not in found]
    )


class IdentifierPair(BaseModel):
    national_id: str = Field(min_length=1, max_length=20, repr=False)
    birth_date: str = Field(
        min_length=10, max_length=10, repr=False, description="ISO YYYY-MM-DD (Gregorian)"
    )


class MatchRequest(BaseModel):
    school_code: SchoolCode = Field(description="the school whose 收訖明細 is being imported")
    entries: list[IdentifierPair] = Field(min_length=1, max_length=5000)
    purpose: str = Field(min_length=1, max_length=200, description="e.g. the receipt import")


class MatchResponse(BaseModel):
    student_ids: list[uuid.UUID | None] = Field(
        description="per entry, in asked order: the student holding both values, or null"
    )


@router.post(
    "/students/match", response_model=MatchResponse, summary="（服務專用）以身分證號比對學生"
)
async def match_students(
    payload: MatchRequest,
    session: SessionDep,
    cipher: CipherDep,
    response: Response,
    caller: Principal = require_service(),
) -> MatchResponse:
    """Which of the school's students hold each (身分證號, 出生日期); the look-up is audited."""
    response.headers["cache-control"] = "no-store"
    indexes = [
        cipher.blind_index(normalise_national_id(e.national_id), context=NATIONAL_ID)
        for e in payload.entries
    ]
    holders = await repository.students_by_national_id_index(session, payload.school_code, indexes)
    answer: list[uuid.UUID | None] = []
    for entry, index in zip(payload.entries, indexes, strict=True):
        match = None
        for person in holders.get(index, []):
            born = person.birth_date_enc
            if born is not None and cipher.decrypt(born, context=BIRTH_DATE) == entry.birth_date:
                match = person.id
                break
        answer.append(match)
    matched = [str(i) for i in answer if i is not None]
    record_audit(
        session,
        school_code=payload.school_code,
        actor_id=None,
        action="students.matched",
        entity="student",
        entity_id=f"{len(matched)} of {len(answer)} entries",
        after={
            "client": caller.client_id,
            "purpose": payload.purpose,
            "asked": len(answer),
            "student_ids": matched,
        },
    )
    return MatchResponse(student_ids=answer)
