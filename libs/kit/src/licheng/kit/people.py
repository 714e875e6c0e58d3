"""How APIs name a person of the roster read model (`licheng.kit.roster`) in their answers.

`StudentRef` and `StaffRef` carry the school's own numbers and the name — never 身分證號 — and
`of()` answers None when the read model does not know the person (yet).
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from licheng.kit.roster import KnownPerson


class StudentRef(BaseModel):
    """Who a student is in lists: 學號, 姓名, 班級, 座號 (never 身分證號)."""

    id: uuid.UUID
    student_no: str = Field(description="學號")
    name: str = Field(description="姓名")
    class_code: str | None = Field(description="班級")
    seat_no: int | None = Field(description="座號")

    @classmethod
    def of(cls, person: KnownPerson | None) -> StudentRef | None:
        """The reference, when the roster knows the person."""
        if person is None:
            return None
        return cls(id=person.id, student_no=person.local_no, name=person.name,
                   class_code=person.class_code, seat_no=person.seat_no)  # fmt: skip


class StaffRef(BaseModel):
    """Who a teacher is in lists: 教師編號 and 姓名."""

    id: uuid.UUID
    staff_no: str = Field(description="教師編號")
    name: str = Field(description="姓名")

    @classmethod
    def of(cls, person: KnownPerson | None) -> StaffRef | None:
        """The reference, when the roster knows the person."""
        if person is None:
            return None
        return cls(id=person.id, staff_no=person.local_no, name=person.name)
