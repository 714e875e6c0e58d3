"""The status lists as xlsx downloads: headings, rows, notes, filters and access rules."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

GENERATED = re.compile(r"製表時間：\d{3}/\d{2}/\d{2} \d{2}:\d{2}")
CATEGORY_TITLES = [
    "幹部經歷", "競賽參與", "檢定證照", "志工服務", "彈性學習", "職場學習", "作品成果", "其他活動",
    "團體活動時間", "大學及技專校院先修課程",
]  # fmt: skip
STUDENT_HEADINGS = ["班級", "座號", "學號", "姓名", "已填寫", "已勾選", "幹部紀錄",
                    *CATEGORY_TITLES, "未附證明文件"]  # fmt: skip
CLASS_HEADINGS = ["班級", "年級", "導師", "學生人數", "有填寫學生數", "已填寫", "已勾選",
                  "幹部紀錄", *CATEGORY_TITLES, "未附證明文件"]  # fmt: skip


def categories(competition: int = 0, service: int = 0, work: int = 0) -> list[int]:
    """The per-category cells of a row, in CATEGORY_TITLES order."""
    return [0, competition, 0, service, 0, 0, work, 0, 0, 0]


async def test_students_xlsx_has_the_headings_and_every_row(filled_year: Any) -> None:
    t = filled_year
    response = await t.get("students.xlsx", t.staff())
    disposition = response.headers["content-disposition"]
    assert 'filename="performances-students-115.xlsx"' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "多元表現_學生填寫狀況_115.xlsx"
    assert int(response.headers["content-length"]) == len(response.content)
    sheet = t.sheet(response)
    assert sheet.title == "學生填寫狀況 115"
    assert sheet.freeze_panes == "A2"
    header, rows, notes = t.rows(sheet)
    assert header == STUDENT_HEADINGS
    assert all(cell.font.b for cell in sheet[1])
    assert rows == [
        ["101", 1, "110001", "林同學", 3, 2, 2, *categories(1, 1, 1), 2],
        ["101", 2, "110002", "吳同學", 1, 0, 0, *categories(competition=1), 1],
        ["102", 1, "110003", "張同學", 1, 1, 0, *categories(service=1), 0],
        ["201", 5, "110004", "黃同學", 0, 0, 1, *categories(), 0],
    ]
    assert notes[0] == "115 學年度 多元表現學生填寫狀況"
    assert GENERATED.fullmatch(notes[-1])


async def test_students_xlsx_takes_the_lists_filters_and_sorts(filled_year: Any) -> None:
    t = filled_year
    staff = t.staff()
    by_class = t.rows(t.sheet(await t.get("students.xlsx", staff, class_code="102")))
    assert [r[2:4] for r in by_class[1]] == [["110003", "張同學"]]
    assert by_class[2][1] == "篩選條件：班級 102"
    by_grade = t.rows(t.sheet(await t.get("students.xlsx", staff, grade=2)))
    assert [r[2] for r in by_grade[1]] == ["110004"]
    by_cadres = await t.get("students.xlsx", staff, sort="cadres", order="desc")
    assert [r[2] for r in t.rows(t.sheet(by_cadres))[1]] == ["110001", "110004", "110002",
                                                              "110003"]  # fmt: skip
    services = t.rows(t.sheet(await t.get("students.xlsx", staff, category="service")))
    assert services[1][0][4:7] == [1, 0, 2]
    assert "類別 志工服務" in services[2][1]
    nobody = t.rows(t.sheet(await t.get("students.xlsx", staff, class_code="999")))
    assert (nobody[0], nobody[1]) == (STUDENT_HEADINGS, [])
    invalid = await t.get("students.xlsx", staff, grade=4)
    assert invalid.status_code == 422


async def test_classes_xlsx(filled_year: Any) -> None:
    t = filled_year
    response = await t.get("classes.xlsx", t.school.as_role("cadre_submitter"))
    assert unquote(response.headers["content-disposition"].split("''")[1]) == (
        "多元表現_班級填寫狀況_115.xlsx"
    )
    header, rows, notes = t.rows(t.sheet(response))
    assert header == CLASS_HEADINGS
    assert rows == [
        ["101", 1, "陳導師", 2, 2, 4, 2, 2, *categories(2, 1, 1), 3],
        ["102", 1, None, 1, 1, 1, 1, 0, *categories(service=1), 0],
        ["201", 2, None, 1, 0, 0, 0, 1, *categories(), 0],
    ]
    assert notes[0] == "115 學年度 多元表現班級填寫狀況"
    assert GENERATED.fullmatch(notes[-1])
    second_grade = t.rows(t.sheet(await t.get("classes.xlsx", t.staff(), grade=2)))
    assert [r[0] for r in second_grade[1]] == ["201"]
    assert second_grade[2][1] == "篩選條件：2 年級"


async def test_homeroom_teacher_downloads_only_their_class(filled_year: Any) -> None:
    t = filled_year
    homeroom = t.school.homeroom()
    students = t.rows(t.sheet(await t.get("students.xlsx", homeroom)))[1]
    assert [r[2] for r in students] == ["110001", "110002"]
    asked_other = t.rows(t.sheet(await t.get("students.xlsx", homeroom, class_code="102")))
    assert asked_other[1] == []
    classes = t.rows(t.sheet(await t.get("classes.xlsx", homeroom)))[1]
    assert [r[0] for r in classes] == ["101"]
    for path in ("students.xlsx", "classes.xlsx"):
        refused = await t.get(path, t.school.student())
        assert refused.status_code == 403, refused.text
        assert "content-disposition" not in refused.headers
    anonymous = await t.school.api.client.get(
        f"{t.url}/students.xlsx", params={"academic_year": 115}
    )
    assert anonymous.status_code == 401
