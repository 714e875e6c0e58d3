"""What the API shows of people and classes: 身分證號 and birth dates only masked."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from licheng.identity.crypto import PiiCipher, mask_birth_date, mask_national_id
from licheng.identity.models import Person, PersonKind, SchoolClass
from licheng.identity.people.imports import BIRTH_DATE, NATIONAL_ID


class PersonPublic(BaseModel):
    id: uuid.UUID
    school_code: str
    kind: PersonKind
    local_no: str
    name: str
    username: str
    email: str | None
    phone: str | None
    address: str | None
    class_code: str | None
    seat_no: int | None
    status: str | None
    national_id_masked: str | None
    birth_date_masked: str | None
    version: int

    @classmethod
    def of(cls, person: Person, cipher: PiiCipher, *, contact: bool = True) -> PersonPublic:
        """Masked view of a person; without `contact`, e-mail, phone and address are left out
        (only the admin, the student's 導師 and the student see them)."""
        national_id = (
            mask_national_id(cipher.decrypt(person.national_id_enc, context=NATIONAL_ID))
            if person.national_id_enc
            else None
        )
        birth = (
            mask_birth_date(cipher.decrypt(person.birth_date_enc, context=BIRTH_DATE))
            if person.birth_date_enc
            else None
        )
        return cls(
            id=person.id,
            school_code=person.school_code,
            kind=person.kind,
            local_no=person.local_no,
            name=person.name,
            username=person.username,
            email=person.email if contact else None,
            phone=person.phone if contact else None,
            address=person.address if contact else None,
            class_code=person.class_code,
            seat_no=person.seat_no,
            status=person.status.value if person.status else None,
            national_id_masked=national_id,
            birth_date_masked=birth,
            version=person.version,
        )


class ClassPublic(BaseModel):
    id: uuid.UUID
    class_code: str
    grade: int
    name: str | None
    homeroom_person_id: uuid.UUID | None

    @classmethod
    def of(cls, school_class: SchoolClass) -> ClassPublic:
        """The API view of a class."""
        return cls.model_validate(school_class, from_attributes=True)


class ProfileUpdate(BaseModel):
    """The contact fields a student maintains (學生資料維護); official fields come from imports."""

    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=30, pattern=r"^[0-9+\-() #]{6,30}$")
    address: str | None = Field(default=None, max_length=200)
