"""The status lists as xlsx downloads: headings, rows, 民國 dates, filters and access rules."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from licheng.kit.spreadsheet import roc_datetime

GENERATED = re.compile(r"製表時間：\d{3}/\d{2}/\d{2} \d{2}:\d{2}")
STUDENT_HEADINGS = [
    "年級", "班級", "座號", "學號", "姓名",
    "已填寫", "認證中", "認證成功", "認證失敗", "已勾選", "最近送審時間",
]  # fmt: skip


async def test_students_xlsx_for_staff_matches_the_list(filled_term: Any) -> None:
    t = filled_term
    term = t.term
    response = await t.get("students.xlsx", term.submitter(), sort="seat_no")
    disposition = response.headers["content-disposition"]
    assert 'filename="course-outcomes-students-115-1.xlsx"' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == (
        "課程學習成果_學生填寫狀況_115-1.xlsx"
    )
    assert int(response.headers["content-length"]) == len(response.content)
    sheet = t.sheet(response)
    assert sheet.title == "學生填寫狀況 115-1"
    assert sheet.freeze_panes == "A2"
    header, rows, notes = t.rows(sheet)
    assert header == STUDENT_HEADINGS
    assert all(cell.font.b for cell in sheet[1])
    listed = {r["local_no"]: r for r in await t.items("students")}
    submitted_1 = roc_datetime(datetime.fromisoformat(listed["110001"]["last_submitted_at"]))
    submitted_2 = roc_datetime(datetime.fromisoformat(listed["110002"]["last_submitted_at"]))
    assert rows == [
        [1, "101", 1, "110001", "林同學", 3, 1, 1, 0, 1, submitted_1],
        [1, "101", 2, "110002", "吳同學", 1, 0, 0, 1, 0, submitted_2],
        [None, "102", 1, "110003", "張同學", 0, 0, 0, 0, 0, None],
    ]
    assert re.fullmatch(r"\d{3}/\d{2}/\d{2} \d{2}:\d{2}", submitted_1)
    assert notes[0] == "115 學年度第 1 學期 學生填寫狀況"
    assert GENERATED.fullmatch(notes[-1])
    # CJK-aware widths: 姓名 and 最近送審時間 are wider than the 座號 column.
    widths = {c: sheet.column_dimensions[c].width for c in "CEK"}
    assert widths["K"] >= len(submitted_1) + 1
    assert widths["E"] >= 6
    assert widths["C"] < widths["K"]


async def test_students_xlsx_takes_the_lists_filters(filled_term: Any) -> None:
    t = filled_term
    term = t.term
    staff = term.submitter()
    by_class = t.rows(t.sheet(await t.get("students.xlsx", staff, class_code="102")))
    assert [r[3:5] for r in by_class[1]] == [["110003", "張同學"]]
    assert by_class[2][1] == "篩選條件：班級 102"
    by_course = t.rows(t.sheet(await t.get("students.xlsx", staff, course_code=term.COURSE_Y)))
    assert [r[3] for r in by_course[1]] == ["110001"]
    assert by_course[2][1] == f"篩選條件：課程代碼 {term.COURSE_Y}"
    by_grade = t.rows(t.sheet(await t.get("students.xlsx", staff, grade=1)))
    assert [r[3] for r in by_grade[1]] == ["110001", "110002"]
    reversed_seats = await t.get("students.xlsx", staff, sort="seat_no", order="desc")
    assert [r[3] for r in t.rows(t.sheet(reversed_seats))[1]] == ["110003", "110002", "110001"]
    by_failed = await t.get("students.xlsx", staff, sort="failed", order="desc")
    assert t.rows(t.sheet(by_failed))[1][0][3] == "110002"
    nobody = t.rows(t.sheet(await t.get("students.xlsx", staff, course_code="Z" * 23)))
    assert nobody[0] == STUDENT_HEADINGS
    assert nobody[1] == []
    invalid = await t.get("students.xlsx", staff, grade=4)
    assert invalid.status_code == 422


async def test_homeroom_teacher_downloads_only_their_class(filled_term: Any) -> None:
    t = filled_term
    term = t.term
    students = t.rows(t.sheet(await t.get("students.xlsx", t.homeroom())))[1]
    assert [r[3] for r in students] == ["110001", "110002"]
    asked_other = t.rows(t.sheet(await t.get("students.xlsx", t.homeroom(), class_code="102")))
    assert asked_other[1] == []
    classes = t.rows(t.sheet(await t.get("classes.xlsx", t.homeroom())))
    assert classes[0] == [
        "班級", "年級", "導師", "學生人數", "有填寫學生數",
        "已填寫", "認證中", "認證成功", "認證失敗", "已勾選",
    ]  # fmt: skip
    assert classes[1] == [["101", 1, "陳老師", 2, 2, 4, 1, 1, 1, 1]]
    for path in ("courses.xlsx", "teachers.xlsx"):
        refused = await t.get(path, t.homeroom())
        assert refused.status_code == 403, refused.text
        assert "content-disposition" not in refused.headers
    for path in ("students.xlsx", "classes.xlsx", "courses.xlsx", "teachers.xlsx"):
        refused = await t.get(path, term.student())
        assert refused.status_code == 403, refused.text
        assert "content-disposition" not in refused.headers
    anonymous = await term.api.client.get(
        f"{t.url}/students.xlsx", params={"academic_year": 115, "semester": 1}
    )
    assert anonymous.status_code == 401


async def test_course_class_and_teacher_downloads(filled_term: Any) -> None:
    t = filled_term
    term = t.term
    staff = term.submitter()
    response = await t.get("courses.xlsx", staff)
    assert unquote(response.headers["content-disposition"].split("''")[1]) == (
        "課程學習成果_課程填寫狀況_115-1.xlsx"
    )
    header, rows, _ = t.rows(t.sheet(response))
    assert header == [
        "課程代碼", "科目名稱", "開課年級", "授課教師編號", "授課教師", "認證教師", "修課人數",
        "已填寫", "認證中", "認證成功", "認證失敗", "已勾選",
    ]  # fmt: skip
    assert rows == [
        [term.COURSE_X, "國語文", 1, "T001", "陳老師", "陳老師", 2, 3, 0, 1, 1, 1],
        [term.COURSE_Y, "數學", 1, "T002", "王老師", "王老師", 1, 1, 1, 0, 0, 0],
    ]
    of_b = t.rows(t.sheet(await t.get("courses.xlsx", staff, teacher_id=str(term.teacher_b))))
    assert [r[0] for r in of_b[1]] == [term.COURSE_Y]
    of_x = t.rows(t.sheet(await t.get("courses.xlsx", staff, course_code=term.COURSE_X)))
    assert [r[0] for r in of_x[1]] == [term.COURSE_X]

    classes = t.rows(t.sheet(await t.get("classes.xlsx", staff)))[1]
    assert classes == [
        ["101", 1, "陳老師", 2, 2, 4, 1, 1, 1, 1],
        ["102", None, None, 1, 0, 0, 0, 0, 0, 0],
    ]
    first_grade = t.rows(t.sheet(await t.get("classes.xlsx", staff, grade=1)))[1]
    assert [r[0] for r in first_grade] == ["101"]

    teachers = await t.get("teachers.xlsx", staff)
    header, rows, notes = t.rows(t.sheet(teachers))
    assert header == ["教師編號", "姓名", "認證中", "認證成功", "認證失敗", "最近認證時間"]
    assert [r[:5] for r in rows] == [["T001", "陳老師", 0, 1, 1], ["T002", "王老師", 1, 0, 0]]
    listed = await t.items("teachers")
    assert rows[0][5] == roc_datetime(datetime.fromisoformat(listed[0]["last_decided_at"]))
    assert rows[1][5] is None
    assert GENERATED.fullmatch(notes[-1])
    only_b = t.rows(t.sheet(await t.get("teachers.xlsx", staff, teacher_id=str(term.teacher_b))))
    assert [r[0] for r in only_b[1]] == ["T002"]
