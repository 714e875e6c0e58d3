"""The API's view of 校內幹部 records: lists, counts, import summaries and the sync body."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from licheng.kit.people import StudentRef
from licheng.performances.cadres.parsing import LEVELS
from licheng.performances.models import Cadre, KnownPerson

MAX_SYNC_RECORDS = 2000


class CadrePublic(BaseModel):
    id: uuid.UUID
    student_id: uuid.UUID
    student: StudentRef | None = Field(description="學號、姓名、班級、座號")
    academic_year: int = Field(description="學年")
    semester: int = Field(description="學期")
    unit_name: str = Field(description="單位名稱")
    role_title: str = Field(description="擔任職務")
    level: int = Field(description="幹部等級 1 校級 / 2 班級 / 3 社團")
    level_name: str = Field(description="幹部等級名稱")
    start_date: date = Field(description="開始日期")
    end_date: date | None = Field(description="結束日期")
    source: str = Field(description="import（檔案匯入）或 api（校務行政系統）")
    updated_at: datetime

    @classmethod
    def of(cls, cadre: Cadre, person: KnownPerson | None) -> CadrePublic:
        """The API view of a record and its student."""
        return cls(
            id=cadre.id,
            student_id=cadre.student_id,
            student=StudentRef.of(person),
            academic_year=cadre.academic_year,
            semester=cadre.semester,
            unit_name=cadre.unit_name,
            role_title=cadre.role_title,
            level=cadre.level,
            level_name=LEVELS.get(cadre.level, str(cadre.level)),
            start_date=cadre.start_date,
            end_date=cadre.end_date,
            source=cadre.source,
            updated_at=cadre.updated_at,
        )


class CadreImportSummary(BaseModel):
    rows: int = Field(description="檔案（或請求）中的紀錄數")
    created: int
    updated: int
    unchanged: int


class StudentCadreCount(BaseModel):
    student_id: uuid.UUID
    student_no: str = Field(description="學號")
    name: str = Field(description="姓名")
    class_code: str | None = Field(description="班級")
    seat_no: int | None = Field(description="座號")
    cadres: int = Field(description="幹部紀錄數")
    school_level: int = Field(description="校級幹部數")
    class_level: int = Field(description="班級幹部數")
    club_level: int = Field(description="社團幹部數")


class ClassCadreCount(BaseModel):
    class_code: str = Field(description="班級")
    grade: int | None = Field(description="年級")
    homeroom_id: uuid.UUID | None = Field(description="導師")
    homeroom_name: str | None
    students: int = Field(description="學生數（在籍、休學，及有符合紀錄的學生）")
    students_with_cadres: int = Field(description="至少有一筆幹部紀錄的學生數")
    cadres: int = Field(description="幹部紀錄數")
    school_level: int = Field(description="校級幹部數")
    class_level: int = Field(description="班級幹部數")
    club_level: int = Field(description="社團幹部數")


class CadreSyncRecord(BaseModel):
    """One record as a 校務行政系統 sends it; the service checks every field itself, so that
    every problem comes back with the record's index and field."""

    model_config = ConfigDict(extra="ignore")

    academic_year: int | str | None = Field(default=None, description="學年（民國）")
    semester: int | str | None = Field(default=None, description="學期 1 或 2")
    student_no: int | str | None = Field(default=None, description="學號")
    unit_name: str | None = Field(default=None, description="單位名稱")
    role_title: str | None = Field(default=None, description="擔任職務")
    level: int | str | None = Field(default=None, description="幹部等級 1 校級 / 2 班級 / 3 社團")
    start_date: str | None = Field(default=None, description="開始日期，ISO 或民國（1040907）")
    end_date: str | None = Field(default=None, description="結束日期，ISO 或民國；可省略")


class CadreSync(BaseModel):
    records: list[CadreSyncRecord] = Field(min_length=1, max_length=MAX_SYNC_RECORDS)
