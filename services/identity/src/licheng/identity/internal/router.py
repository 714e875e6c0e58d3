"""`POST /internal/v1/identifiers`: 身分證號 and 出生日期 for exports, in batch, audited.

Only service accounts may call it; the caller keeps the values no longer than one export job.
It lives outside `/api/` so the gateway never routes it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from licheng.contracts.schools import SchoolCode
from licheng.identity.deps import CipherDep
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
