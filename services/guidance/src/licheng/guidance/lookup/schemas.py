"""Answers of the lookup: students by 學號, name, class and seat (never 身分證號 or birth
date), and classes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ClassSummary(BaseModel):
    """A class in use and how many enrolled students it has."""

    class_code: str = Field(description="班級代碼")
    grade: int | None = Field(description="年級")
    students: int = Field(description="在籍（含休學）學生數")
