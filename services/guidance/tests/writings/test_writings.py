"""自傳 and 學習計畫: versions, If-Match, the window, who reads, PDFs."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from licheng.guidance.models import WritingVersion

TEXTS = [
    "我來自臺南。\n喜歡閱讀。",
    "我來自臺南。\n喜歡閱讀與寫程式。",
    "我來自臺南。\n喜歡閱讀與寫程式。\n高一參加科展。",
    "我來自臺南市。\n喜歡閱讀與寫程式。\n高一參加科展。",
    "我來自臺南市。\n喜歡閱讀與寫程式。\n高一參加科展，獲得佳作。\n未來想讀資訊工程。",
]


def _writing(school: Any, student_no: str = "110001", kind: str = "autobiography") -> str:
    return f"{school.base}/students/{school.students[student_no]}/writings/{kind}"


async def _save(
    school: Any, text: str, *, version: int | None = None, who: str = "110001",
    kind: str = "autobiography",
) -> httpx.Response:  # fmt: skip
    headers = school.student(who)
    if version is not None:
        headers = {**headers, "if-match": str(version)}
    return await school.api.client.put(
        f"{school.base}/me/writings/{kind}", json={"text": text}, headers=headers
    )


async def test_five_saves_keep_every_version_and_compare_shows_the_change(school: Any) -> None:
    for n, text in enumerate(TEXTS, start=1):
        saved = await _save(school, f"  {text}  ", version=n - 1)
        assert saved.status_code == 200, saved.text
        assert (saved.json()["version"], saved.json()["text"]) == (n, text)
        assert saved.headers["etag"] == str(n)
    same = await _save(school, TEXTS[-1], version=5)
    assert same.json()["version"] == 5  # the same text: no new version
    assert await school.api.count(WritingVersion) == 5

    url = _writing(school)
    page = await school.api.client.get(f"{url}/versions", headers=school.student())
    assert page.status_code == 200, page.text
    assert page.json()["total"] == 5
    assert [v["number"] for v in page.json()["items"]] == [5, 4, 3, 2, 1]
    for n, text in enumerate(TEXTS, start=1):
        one = await school.api.client.get(f"{url}/versions/{n}", headers=school.student())
        assert (one.json()["text"], one.json()["current"]) == (text, n == 5)

    compared = await school.api.client.get(f"{url}/versions/5/compare", headers=school.student())
    assert compared.status_code == 200, compared.text
    body = compared.json()
    assert (body["version"]["number"], body["previous"]["number"]) == (5, 4)
    changed = [h for h in body["hunks"] if h["op"] != "equal"]
    new = ["高一參加科展，獲得佳作。", "未來想讀資訊工程。"]
    assert changed == [{"op": "replace", "old": ["高一參加科展。"], "new": new}]
    first = await school.api.client.get(f"{url}/versions/1/compare", headers=school.student())
    assert first.json()["previous"] is None
    assert first.json()["hunks"] == [{"op": "insert", "old": [], "new": TEXTS[0].splitlines()}]
    missing = await school.api.client.get(f"{url}/versions/6", headers=school.student())
    assert missing.status_code == 404

    mine = await school.api.client.get(f"{school.base}/me/writings", headers=school.student())
    assert [(w["kind"], w["version"]) for w in mine.json()] == [
        ("autobiography", 5), ("study_plan", 0)
    ]  # fmt: skip


async def test_a_stale_if_match_is_refused_and_the_first_writers_text_stays(school: Any) -> None:
    assert (await _save(school, "第一版", version=0)).status_code == 200
    assert (await _save(school, "第二版", version=1)).status_code == 200
    stale = await _save(school, "舊分頁的內容", version=1)
    assert stale.status_code == 409
    assert stale.json()["error"] == "version_conflict"
    assert stale.json()["detail"]["current_version"] == 2
    again = await _save(school, "重複第一次", version=0)
    assert again.status_code == 409
    read = await school.api.client.get(_writing(school), headers=school.student())
    assert (read.json()["text"], read.json()["version"]) == ("第二版", 2)


async def test_two_tabs_saving_at_once_give_one_winner(school: Any) -> None:
    assert (await _save(school, "開始", version=0)).status_code == 200
    answers = await asyncio.gather(
        _save(school, "分頁甲", version=1), _save(school, "分頁乙", version=1)
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert next(a for a in answers if a.status_code == 409).json()["error"] == "version_conflict"
    winner = next(a for a in answers if a.status_code == 200).json()["text"]
    read = await school.api.client.get(_writing(school), headers=school.student())
    assert (read.json()["text"], read.json()["version"]) == (winner, 2)
    assert await school.api.count(WritingVersion) == 2


async def test_text_is_required_and_limited(school: Any) -> None:
    blank = await _save(school, "   ")
    assert blank.status_code == 422
    assert "text" in blank.json()["message"]
    long = await _save(school, "字" * 3001)
    assert long.status_code == 422
    assert "3000" in long.json()["message"]
    assert (await _save(school, "字" * 3000)).status_code == 200


async def test_saving_outside_the_window_is_refused(school: Any) -> None:
    now = datetime.now(UTC)
    window = {"write_from": (now - timedelta(days=10)).isoformat(),
              "write_until": (now - timedelta(days=1)).isoformat()}  # fmt: skip
    patched = await school.api.client.patch(
        f"{school.base}/parameters", json=window, headers=school.as_role("admin")
    )
    assert patched.status_code == 200, patched.text
    closed = await _save(school, "太晚了", kind="study_plan")
    assert closed.status_code == 409
    assert closed.json()["error"] == "window_closed"
    assert "自傳與學習計畫編輯" in closed.json()["message"]
    file = await school.api.client.put(
        f"{school.base}/me/writings/study_plan/file",
        files={"file": ("plan.pdf", school.PDF)}, headers=school.student(),
    )  # fmt: skip
    assert file.status_code == 409
    reopened = await school.api.client.patch(
        f"{school.base}/parameters",
        json={"write_until": (now + timedelta(days=1)).isoformat()},
        headers=school.as_role("admin"),
    )
    assert reopened.status_code == 200, reopened.text
    assert (await _save(school, "期間內", kind="study_plan")).status_code == 200


async def test_who_reads_a_students_writing(school: Any) -> None:
    for text in ("第一版", "第二版"):
        assert (await _save(school, text)).status_code == 200
    url = _writing(school)
    for headers in (school.homeroom("101"), school.counselor("C1"), school.as_role("admin"),
                    school.student("110001")):  # fmt: skip
        read = await school.api.client.get(url, headers=headers)
        assert read.status_code == 200, read.text
        assert (read.json()["text"], read.json()["version"]) == ("第二版", 2)
        assert read.json()["student"]["student_no"] == "110001"
    for headers in (school.homeroom("102"), school.student("110002"),
                    school.as_role("course_submitter")):  # fmt: skip
        refused = await school.api.client.get(url, headers=headers)
        assert refused.status_code in (403, 404), refused.text
        assert "第二版" not in refused.text
    for headers in (school.homeroom("102"), school.student("110002")):
        assert (await school.api.client.get(url, headers=headers)).status_code == 404
    # 導師 and counselors: the current version only.
    for headers in (school.homeroom("101"), school.counselor("C2")):
        page = await school.api.client.get(f"{url}/versions", headers=headers)
        assert [v["number"] for v in page.json()["items"]] == [2]
        assert (
            await school.api.client.get(f"{url}/versions/2", headers=headers)
        ).status_code == 200
        for path in ("/versions/1", "/versions/2/compare"):
            hidden = await school.api.client.get(url + path, headers=headers)
            assert hidden.status_code == 404, path
    admin = await school.api.client.get(f"{url}/versions", headers=school.as_role("admin"))
    assert admin.json()["total"] == 2
    unwritten = await school.api.client.get(
        _writing(school, kind="study_plan"), headers=school.homeroom("101")
    )
    assert unwritten.status_code == 404


async def test_another_school_sees_nothing(school: Any) -> None:
    saved = await _save(school, "本校的自傳")
    assert saved.status_code == 200
    other = f"{(int(school.api.school) + 1) % 10**6:06d}"
    admin = school.api.issuer.headers(person_id=uuid.uuid4(), groups=[f"/schools/{other}/admin"])
    sid = school.students["110001"]
    base = f"/api/guidance/v1/schools/{other}"
    for path in (f"/students/{sid}/writings/autobiography",
                 f"/students/{sid}/writings/autobiography/versions/1",
                 f"/writings/{saved.json()['id']}/versions/1/file"):  # fmt: skip
        answer = await school.api.client.get(base + path, headers=admin)
        assert answer.status_code == 404, path
        assert "本校的自傳" not in answer.text
    crossing = await school.api.client.get(_writing(school), headers=admin)
    assert crossing.status_code == 403


async def test_a_pdf_version_and_its_link(school: Any) -> None:
    assert (await _save(school, "文字版", kind="study_plan")).status_code == 200
    url = f"{school.base}/me/writings/study_plan/file"
    uploaded = await school.api.client.put(
        url, files={"file": ("../計畫.pdf", school.PDF)},
        headers={**school.student(), "if-match": "1"},
    )  # fmt: skip
    assert uploaded.status_code == 200, uploaded.text
    body = uploaded.json()
    assert (body["version"], body["text"]) == (2, "文字版")
    assert body["file"] == {"name": "計畫.pdf", "size": len(school.PDF)}
    link = await school.api.client.get(
        f"{school.base}/writings/{body['id']}/versions/2/file", headers=school.homeroom("101")
    )
    assert link.status_code == 200, link.text
    assert body["id"] in link.json()["url"]
    assert hashlib.sha256(school.PDF).hexdigest() in link.json()["url"]
    storage = school.api.app.state.storage
    bucket = school.api.app.state.settings.uploads_bucket
    key = f"{school.api.school}/{school.students['110001']}/{body['id']}/"
    key += hashlib.sha256(school.PDF).hexdigest()
    assert await storage.read(bucket=bucket, key=key) == school.PDF
    # A later text save keeps the PDF; version 1 has none.
    edited = await _save(school, "文字版，修訂", kind="study_plan")
    assert edited.json()["file"]["name"] == "計畫.pdf"
    none = await school.api.client.get(
        f"{school.base}/writings/{body['id']}/versions/1/file", headers=school.student()
    )
    assert none.status_code == 404
    # 導師 reads the current version's file only.
    older = await school.api.client.get(
        f"{school.base}/writings/{body['id']}/versions/2/file", headers=school.homeroom("101")
    )
    assert older.status_code == 404
    for name, content in (("a.png", b"\x89PNG\r\n\x1a\n" + bytes(100)),
                          ("a.pdf", b"just text, not a pdf" * 10),
                          ("a.txt", b"plain text" * 10)):  # fmt: skip
        refused = await school.api.client.put(
            url, files={"file": (name, content)}, headers=school.student()
        )
        assert refused.status_code == 415, (name, refused.text)
    big = await school.api.client.put(
        url, files={"file": ("big.pdf", school.PDF + bytes(4 * 1024 * 1024))},
        headers=school.student(),
    )  # fmt: skip
    assert big.status_code == 413
    assert await school.api.count(WritingVersion) == 3


async def test_a_pdf_first_starts_the_writing(school: Any) -> None:
    uploaded = await school.api.client.put(
        f"{school.base}/me/writings/autobiography/file",
        files={"file": ("me.pdf", school.PDF)}, headers={**school.student(), "if-match": "0"},
    )  # fmt: skip
    assert uploaded.status_code == 200, uploaded.text
    assert (uploaded.json()["version"], uploaded.json()["text"]) == (1, "")
    assert uploaded.json()["file"]["name"] == "me.pdf"
