"""導師 pages through the campus: the class table and its SVG chart, a drill-down to one
student's outcomes, and nothing of another class."""

from __future__ import annotations

import re
from typing import Any

import httpx

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(2_000)
COURSE = "108011302H11101A1010101"
TERM = {"academic_year": 115, "semester": 1}


async def test_homeroom_sees_their_class_as_table_and_chart(campus: Any) -> None:
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\nT005,黃老師,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n102,1,普一乙,T005\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,101,2,F131104093,0970812,在籍\n"
            "110003,張同學,102,7,B120000008,0970101,在籍\n"
        ),
        course_records=(
            "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
            f"115,1,110001,{COURSE},國語文,4,1,T002,學期課程\n"
            f"115,1,110002,{COURSE},國語文,4,1,T002,學期課程\n"
            f"115,1,110003,{COURSE},國語文,4,1,T002,學期課程\n"
        ),
        importer="T002",
    )
    gw, courses = campus.gateway, campus.courses
    lin = school.students["110001"]
    student = campus.as_(lin, "student")
    enrolment = (await gw.get(f"{courses}/me/courses", params=TERM, headers=student)).json()[0][
        "enrolment_id"
    ]
    created = await gw.post(f"{courses}/outcomes", headers=student,
                            json={"enrolment_id": enrolment, "outcome_type": "實作作品",
                                  "brief": "詩歌朗誦腳本"})  # fmt: skip
    oid = created.json()["id"]
    await gw.put(f"{courses}/outcomes/{oid}/files/document", headers=student,
                 files={"file": ("腳本.pdf", PDF)})  # fmt: skip
    sent = await gw.post(f"{courses}/outcomes/{oid}/submission", headers=student)
    assert sent.status_code == 200, sent.text
    homeroom = campus.as_(school.staff["T001"], "homeroom_teacher")

    async def class_known() -> httpx.Response:
        response = await gw.get(f"{courses}/status/students", params=TERM, headers=homeroom)
        return response if response.json().get("total") == 2 else httpx.Response(425)

    await campus.eventually_ok(class_known, "the homeroom class in course-outcomes")

    async with campus.portal(school.staff["T001"], "homeroom_teacher") as page:
        shown = await page.get("/homeroom")
        assert shown.status_code == 200, shown.text
        html = shown.text
        assert "林同學" in html
        assert "吳同學" in html
        assert "張同學" not in html  # another class's student
        assert "110003" not in html
        svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S)
        assert svg is not None
        assert 'role="img"' in svg.group(0)
        assert re.search(r'aria-label="[^"]*班級 101', svg.group(0))
        assert "認證中" in svg.group(0)  # the legend, in text
        assert '<th scope="col">認證中</th>' in html
        link = f"/homeroom/students/{lin}?academic_year=115&amp;semester=1"
        assert link in html

        drilled = await page.get(link.replace("&amp;", "&"))
        assert drilled.status_code == 200, drilled.text
        assert "詩歌朗誦腳本" in drilled.text
        assert "認證中" in drilled.text
        assert "國語文" in drilled.text

        other = await page.get(f"/homeroom/students/{school.students['110003']}")
        assert other.status_code == 404
        assert "張同學" not in other.text
