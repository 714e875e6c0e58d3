"""Issue "Guidance service" — done when, through the gateway: a counselor records a group
consultation for a class and an individual one; a student writes a study plan twice and sees
both versions side by side; their homeroom teacher reads the current one; another class's
homeroom teacher cannot."""

from __future__ import annotations

from typing import Any

import httpx


async def test_counseling_and_a_study_plan_through_the_gateway(campus: Any) -> None:
    gw, base = campus.gateway, campus.guidance
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳導師,\nT002,王導師,\nC001,李諮詢,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n102,1,普一乙,T002\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,101,2,F131104093,0970812,在籍\n"
            "110003,張同學,102,1,B120000008,0970101,在籍\n"
        ),
    )
    counselor = campus.as_(school.staff["C001"], "counselor")
    homeroom = campus.as_(school.staff["T001"], "homeroom_teacher")
    other_homeroom = campus.as_(school.staff["T002"], "homeroom_teacher")
    student_id = school.students["110001"]
    student = campus.as_(student_id, "student")

    individual = {"held_on": "115/10/06", "mode": "individual",
                  "student_ids": [school.students["110003"]],
                  "topic": "轉組諮詢", "content": "討論自然組與社會組的選擇"}  # fmt: skip

    async def individual_record() -> httpx.Response:
        # Guidance learns identity's people from events: the last student imported arriving
        # means every earlier one has (one ordered stream).
        response = await gw.post(f"{base}/counseling", json=individual, headers=counselor)
        return (
            httpx.Response(200, json=response.json()) if response.status_code == 201 else response
        )

    await campus.eventually_ok(individual_record, "an individual record once people arrived")
    group = await gw.post(
        f"{base}/counseling",
        json={"held_on": "2026-10-05", "mode": "group", "class_code": "101",
              "topic": "選課說明", "content": "說明高二多元選修與加深加廣課程"},
        headers=counselor,
    )  # fmt: skip
    assert group.status_code == 201, group.text
    assert {s["student_no"] for s in group.json()["students"]} == {"110001", "110002"}
    mine = await gw.get(f"{base}/counseling", params={"student_id": student_id}, headers=counselor)
    assert [r["id"] for r in mine.json()["items"]] == [group.json()["id"]]

    url = f"{base}/me/writings/study_plan"
    first = await gw.put(
        url, json={"text": "高一：探索興趣。\n高二：選修資訊相關課程。"}, headers=student
    )
    assert first.status_code == 200, first.text
    second = await gw.put(
        url,
        json={"text": "高一：探索興趣。\n高二：選修資訊與數學相關課程。\n高三：準備專題。"},
        headers={**student, "if-match": str(first.json()["version"])},
    )
    assert second.status_code == 200, second.text
    assert second.json()["version"] == 2
    writings = f"{base}/students/{student_id}/writings/study_plan"
    compared = await gw.get(f"{writings}/versions/2/compare", headers=student)
    assert compared.status_code == 200, compared.text
    assert compared.json()["previous"]["number"] == 1
    assert any(h["op"] != "equal" for h in compared.json()["hunks"])
    current = await gw.get(writings, headers=homeroom)
    assert current.status_code == 200, current.text
    assert "高三：準備專題" in current.json()["text"]
    hidden = await gw.get(writings, headers=other_homeroom)
    assert hidden.status_code == 404
