"""The status lists as xlsx downloads: their zh-TW headings, cells and file names."""

from __future__ import annotations

from typing import Any

from licheng.course_outcomes.status import repository
from licheng.course_outcomes.status.repository import (
    ClassQuery,
    CourseQuery,
    StudentQuery,
    TeacherQuery,
)
from licheng.kit.spreadsheet import (
    CellValue,
    Download,
    Fetch,
    Report,
    TemporaryFileResponse,
    report_download,
)

COUNT_HEADINGS = ("已填寫", "認證中", "認證成功", "認證失敗", "已勾選")


def _counts(row: dict[str, Any]) -> list[CellValue]:
    return [row[name] for name in repository.COUNTS]


STUDENTS = Report(
    name="學生填寫狀況",
    slug="students",
    headings=("年級", "班級", "座號", "學號", "姓名", *COUNT_HEADINGS, "最近送審時間"),
    cells=lambda r: [r["grade"], r["class_code"], r["seat_no"], r["local_no"], r["name"],
                     *_counts(r), r["last_submitted_at"]],
)  # fmt: skip

TEACHERS = Report(
    name="教師認證狀況",
    slug="teachers",
    headings=("教師編號", "姓名", "認證中", "認證成功", "認證失敗", "最近認證時間"),
    cells=lambda r: [r["local_no"], r["name"], r["pending"], r["succeeded"], r["failed"],
                     r["last_decided_at"]],
)  # fmt: skip

COURSES = Report(
    name="課程填寫狀況",
    slug="courses",
    headings=("課程代碼", "科目名稱", "開課年級", "授課教師編號", "授課教師", "認證教師",
              "修課人數", *COUNT_HEADINGS),
    cells=lambda r: [r["course_code"], r["subject_name"], r["grade"], r["teacher_no"],
                     r["teacher_name"], r["certifier_name"], r["students"], *_counts(r)],
)  # fmt: skip

CLASSES = Report(
    name="班級填寫狀況",
    slug="classes",
    headings=("班級", "年級", "導師", "學生人數", "有填寫學生數", *COUNT_HEADINGS),
    cells=lambda r: [r["class_code"], r["grade"], r["homeroom_name"], r["students"],
                     r["students_with_outcomes"], *_counts(r)],
)  # fmt: skip


def described(query: StudentQuery | TeacherQuery | CourseQuery | ClassQuery) -> list[str]:
    """The filters a person chose, as the workbook's 篩選條件 line lists them."""
    found: list[str] = []
    grade = getattr(query, "grade", None)
    if grade is not None:
        found.append(f"{grade} 年級")
    course_code = getattr(query, "course_code", None)
    if course_code:
        found.append(f"課程代碼 {course_code}")
    if isinstance(query, StudentQuery | ClassQuery) and query.class_codes is not None:
        found.append("班級 " + ("、".join(query.class_codes) or "（無）"))
    if isinstance(query, TeacherQuery) and query.teacher_ids is not None:
        found.append("指定認證教師")
    if isinstance(query, CourseQuery) and query.certifier_id is not None:
        found.append("指定認證教師")
    return found


async def download(
    report: Report,
    query: StudentQuery | TeacherQuery | CourseQuery | ClassQuery,
    *,
    fetch: Fetch[dict[str, Any]],
) -> TemporaryFileResponse:
    """Every row of the list (fetched a page at a time) as an xlsx attachment."""
    term = query.term
    season = f"{term.academic_year}-{term.semester}"
    return await report_download(
        report,
        fetch,
        download=Download(
            filename=f"課程學習成果_{report.name}_{season}.xlsx",
            fallback=f"course-outcomes-{report.slug}-{season}.xlsx",
        ),
        title=f"{report.name} {season}",
        notes=[f"{term.academic_year} 學年度第 {term.semester} 學期 {report.name}"],
        filters=described(query),
    )
