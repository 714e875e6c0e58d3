"""修課紀錄 import over HTTP: re-import changes nothing, bad rows are refused, teachers may not."""

from __future__ import annotations

from typing import Any


async def test_course_import_validates_and_reimport_is_a_no_op(term: Any) -> None:
    rows = list(term.ROWS)
    course_y = term.COURSE_Y
    url = f"{term.base}/course-records/imports"
    params = {"academic_year": 115, "semester": 1}
    again = await term.api.client.post(
        url,
        params=params,
        headers=term.submitter(),
        files={"file": ("c.csv", (term.HEADER + "\n".join(rows)).encode())},
    )
    assert again.json()["sections_created"] == 0
    assert again.json()["enrolments_created"] == 0
    bad = [*rows, f"115,1,110002,{course_y[:-1]},數學,4,1,T002,學期課程",
           f"115,1,999999,{course_y},數學,4,1,T002,學期課程"]  # fmt: skip
    refused = await term.api.client.post(
        url,
        params=params,
        headers=term.submitter(),
        files={"file": ("c.csv", (term.HEADER + "\n".join(bad)).encode())},
    )
    assert refused.status_code == 422
    codes = {(e["row"], e["code"]) for e in refused.json()["detail"]}
    assert codes == {(5, "course_code_length"), (6, "unknown_student")}
    teacher = await term.api.client.post(
        url,
        params=params,
        headers=term.teacher(),
        files={"file": ("c.csv", (term.HEADER + "\n".join(rows)).encode())},
    )
    assert teacher.status_code == 403
