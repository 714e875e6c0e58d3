"""A term in progress for the demo school, seeded through the public API like a school would.

Identity seeds the school, its people and classes (`SEED_DEMO`). Once every process is ready,
this module signs in with the development issuer and, through the gateway, opens the term's
windows (參數設定), imports 修課紀錄 for the demo classes and leaves outcomes in every state:
draft, submitted (送審), certified, failed with a reason and 說明, and certified and selected.
It also opens the year's 多元表現 windows, loads a 檢定證照 catalog, imports 校內幹部 and fills a
student's records with proof and a selection. So the first thing a newcomer sees has content,
made by the same code paths users take.

Re-running is safe: a marker in the state directory says the term was seeded; without it
(a seeding cut short), each step checks first: parameters a user already set are kept, the
import is a no-op when repeated, and a student who already has outcomes is left alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from licheng.deploy.supervisor import say

SCHOOL = "011302"
PASSWORD = "demo"  # noqa: S105  (the development issuer's documented demo password)
ADMIN, SUBMITTER, TEACHER = "011302-t-a001", "011302-t-t003", "011302-t-t002"
TEACHER_NO = "T002"
MARKER = "demo/course-outcomes-term.done"
PERFORMANCES_MARKER = "demo/performances-year.done"
PERFORMANCE_SUBMITTER = "011302-t-t004"
# (證照代碼, 證照名稱, 證照類別, 發照單位, 國內): the school's 檢定證照 dropdown.
CATALOG = [
    ("A0001", "電腦軟體應用丙級", "技術士", "勞動部", True),
    ("B0001", "全民英檢中級", "語文", "財團法人語言訓練測驗中心", True),
    ("C0001", "TOEIC 750", "語文", "ETS", False),
]
CADRES_CSV = (
    "學年,學期,學號,單位名稱,開始日期,結束日期,擔任職務,幹部等級\n"
    "{year},1,110001,普一甲,{year}0901,{next_year}0131,班長,2\n"
    "{year},1,110002,熱舞社,{year}0901,{next_year}0131,社長,3\n"
)
# A tiny, valid PDF: the service checks uploads by content.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass(frozen=True)
class Course:
    code: str  # 23 characters; positions 20–21 are the 領域 (docs/domain.md §5.2–5.3)
    name: str
    credits: int


COURSES = {
    "國語文": Course("115011302H11101010101" + "01", "國語文", 4),
    "數學": Course("115011302H11101010102" + "01", "數學", 4),
    "英語文": Course("115011302H11101010101" + "02", "英語文", 4),
    "物理": Course("115011302H11101010104" + "01", "物理", 2),
}
STUDENTS = ["110001", "110002", "110003", "110004", "110005"]  # 110006 is 休學

# (student, course, what happens): the states a newcomer should see.
PLAN: list[tuple[str, str, str, str]] = [
    ("110001", "國語文", "selected", "〈我的家鄉〉散文寫作與修改歷程"),
    ("110001", "數學", "submitted", "以函數圖形分析手機資費方案"),
    ("110001", "英語文", "failed", "英語短劇〈The Gift〉演出影片"),
    ("110001", "物理", "draft", "自製簡易分光儀實驗紀錄"),
    ("110002", "國語文", "submitted", "閱讀心得：《小王子》的成長主題"),
    ("110003", "數學", "certified", "統計專題：班上通勤時間調查"),
    ("110004", "英語文", "draft", "英文履歷與自傳練習"),
]
VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


class DemoFailed(RuntimeError):
    """The API refused a step of the demo."""


class _Api:
    """Signed-in calls through the gateway, failing loudly on anything unexpected."""

    def __init__(self, gateway: str) -> None:
        self.http = httpx.Client(base_url=gateway, timeout=30.0)
        self.tokens: dict[str, str] = {}

    def as_(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            signed_in = self.http.post(
                "/api/identity/v1/dev-auth/token",
                json={"username": username, "password": PASSWORD},
            )
            self._check(signed_in, f"sign in as {username}")
            self.tokens[username] = signed_in.json()["access_token"]
        return {"authorization": f"Bearer {self.tokens[username]}"}

    def call(
        self,
        method: str,
        path: str,
        who: str,
        what: str,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        response = self.http.request(
            method, path, headers={**self.as_(who), **(headers or {})}, **kwargs
        )
        self._check(response, what)
        return response.json() if response.content else None

    @staticmethod
    def _check(response: httpx.Response, what: str) -> None:
        if response.status_code >= 400:
            raise DemoFailed(f"{what}: {response.status_code} {response.text[:300]}")


def _student(local_no: str) -> str:
    return f"{SCHOOL}-s-{local_no}"


def _records_csv(academic_year: int, semester: int) -> bytes:
    lines = ["學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別"]
    for local_no in STUDENTS:
        for course in COURSES.values():
            lines.append(
                f"{academic_year},{semester},{local_no},{course.code},{course.name},"
                f"{course.credits},1,{TEACHER_NO},學期課程"
            )
    return ("\n".join(lines) + "\n").encode()


def _open_windows(api: _Api, base: str, term: str) -> None:
    current = api.call("GET", f"{base}/parameters/{term}", SUBMITTER, "read 參數設定")
    if current["version"] != 0:
        return  # someone set them already: keep theirs
    now = datetime.now(UTC).replace(microsecond=0)
    api.call(
        "PATCH",
        f"{base}/parameters/{term}",
        SUBMITTER,
        "open the windows",
        headers={"if-match": "0", "content-type": "application/merge-patch+json"},
        json={
            "upload_from": (now - timedelta(days=30)).isoformat(),
            "upload_until": (now + timedelta(days=60)).isoformat(),
            "certify_from": (now - timedelta(days=30)).isoformat(),
            "certify_until": (now + timedelta(days=75)).isoformat(),
            "select_from": (now - timedelta(days=30)).isoformat(),
            "select_until": (now + timedelta(days=90)).isoformat(),
        },
    )


def _import_records(api: _Api, base: str, year: int, semester: int) -> None:
    # Course-outcomes learns identity's people from events; right after start-up it may not
    # know them yet (422 unknown_student), so wait for it.
    deadline = time.monotonic() + 60
    while True:
        response = api.http.post(
            f"{base}/course-records/imports",
            params={"academic_year": year, "semester": semester},
            files={"file": ("修課紀錄.csv", _records_csv(year, semester), "text/csv")},
            headers=api.as_(SUBMITTER),
        )
        if response.status_code == 200:
            return
        if response.status_code != 422 or time.monotonic() > deadline:
            _Api._check(response, "import 修課紀錄")
        time.sleep(0.5)


def _play_student(api: _Api, base: str, local_no: str, year: int, semester: int) -> None:
    who = _student(local_no)
    term = {"academic_year": year, "semester": semester}
    if api.call("GET", f"{base}/me/outcomes", who, "list outcomes", params=term):
        return  # this student already has work: leave it
    courses = {
        c["subject_name"]: c
        for c in api.call("GET", f"{base}/me/courses", who, "list courses", params=term)
    }
    selected = []
    for student, course, state, brief in PLAN:
        if student != local_no:
            continue
        body: dict[str, Any] = {
            "enrolment_id": courses[course]["enrolment_id"],
            "outcome_type": "實作作品" if state != "submitted" else "書面報告",
            "brief": brief,
        }
        if course == "英語文":
            body["video_url"] = VIDEO
        outcome = api.call("POST", f"{base}/outcomes", who, "create an outcome", json=body)
        oid = outcome["id"]
        if state == "draft":
            continue
        if "video_url" not in body:
            api.call(
                "PUT",
                f"{base}/outcomes/{oid}/files/document",
                who,
                "upload a PDF",
                files={"file": ("成果.pdf", PDF, "application/pdf")},
            )
        api.call("POST", f"{base}/outcomes/{oid}/submission", who, "送審")
        if state == "failed":
            decision = {"certified": False, "reason_code": "04", "explanation": "請補充排練過程"}
        elif state in ("certified", "selected"):
            decision = {"certified": True}
        else:
            continue
        api.call("POST", f"{base}/outcomes/{oid}/certification", TEACHER, "認證", json=decision)
        if state == "selected":
            selected.append(oid)
    if selected:
        api.call(
            "PUT", f"{base}/me/selections", who, "勾選", json={**term, "outcome_ids": selected}
        )


def _seed_catalog(api: _Api, base: str) -> None:
    existing = api.call("GET", f"{base}/certificates", ADMIN, "read the catalog")
    if existing["total"]:
        return
    for code, name, category, issuer, domestic in CATALOG:
        item = {"code": code, "name": name, "category": category, "issuer": issuer,
                "domestic": domestic, "active": True}  # fmt: skip
        api.call("POST", f"{base}/certificates", ADMIN, "add a certificate", json=item)


def _open_year(api: _Api, base: str, year: int) -> None:
    current = api.call("GET", f"{base}/parameters/{year}", PERFORMANCE_SUBMITTER, "read 參數設定")
    if current["version"] != 0:
        return  # someone set them already: keep theirs
    now = datetime.now(UTC).replace(microsecond=0)
    api.call(
        "PATCH",
        f"{base}/parameters/{year}",
        PERFORMANCE_SUBMITTER,
        "open the fill and 勾選 windows",
        headers={"if-match": "0", "content-type": "application/merge-patch+json"},
        json={
            "fill_from": (now - timedelta(days=30)).isoformat(),
            "fill_until": (now + timedelta(days=120)).isoformat(),
            "select_from": (now - timedelta(days=30)).isoformat(),
            "select_until": (now + timedelta(days=150)).isoformat(),
        },
    )


def _import_cadres(api: _Api, base: str, year: int) -> None:
    body = CADRES_CSV.format(year=year, next_year=year + 1).encode("cp950")
    deadline = time.monotonic() + 60
    while True:  # performances learns identity's people from events: wait for them
        response = api.http.post(
            f"{base}/cadres/imports",
            files={"file": ("校內幹部.csv", body, "text/csv")},
            headers=api.as_(ADMIN),
        )
        if response.status_code == 200:
            return
        if response.status_code != 422 or time.monotonic() > deadline:
            _Api._check(response, "import 校內幹部")
        time.sleep(0.5)


def _fill_performances(api: _Api, base: str, year: int) -> None:
    who = _student("110001")
    mine = api.call(
        "GET", f"{base}/me/performances", who, "list records", params={"academic_year": year}
    )
    if mine["total"]:
        return
    volunteering = {
        "academic_year": year,
        "category": "service",
        "brief": "社區淨灘與海洋垃圾分類紀錄",
        "fields": {"name": "社區淨灘", "organisation": "海洋保育協會",
                   "start_date": f"{year}/09/05", "end_date": f"{year}/09/05", "hours": "4"},
    }  # fmt: skip
    service = api.call("POST", f"{base}/performances", who, "add a record", json=volunteering)
    proof = {"file": ("服務證明.pdf", PDF, "application/pdf")}
    api.call("POST", f"{base}/performances/{service['id']}/files", who, "attach", files=proof)
    passed = {
        "academic_year": year,
        "category": "certificate",
        "brief": "通過電腦軟體應用丙級檢定",
        "fields": {"certificate_code": "A0001", "obtained_on": f"{year}/10/20"},
    }
    certificate = api.call("POST", f"{base}/performances", who, "add a record", json=passed)
    chosen = {"academic_year": year, "performance_ids": [service["id"], certificate["id"]]}
    api.call("PUT", f"{base}/me/selections", who, "勾選多元表現", json=chosen)


def seed_performances(gateway: str, *, state: Path) -> bool:
    """Seed the demo year's 多元表現 once: windows, a certificate catalog, cadres, records."""
    marker = state / PERFORMANCES_MARKER
    if marker.exists():
        return False
    api = _Api(gateway)
    try:
        school = api.call("GET", f"/api/identity/v1/schools/{SCHOOL}", ADMIN, "read the school")
        year = int(school["academic_year"])
        base = f"/api/performances/v1/schools/{SCHOOL}"
        _open_year(api, base, year)
        _seed_catalog(api, base)
        _import_cadres(api, base, year)
        _fill_performances(api, base, year)
    except (DemoFailed, httpx.HTTPError) as failed:
        say(f"demo 多元表現 not seeded: {failed}")
        return False
    finally:
        api.http.close()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(datetime.now(UTC).isoformat() + "\n")
    say(f"demo 多元表現 {year}: windows open, certificate catalog, cadres, a student's records")
    return True


def seed_term(gateway: str, *, state: Path) -> bool:
    """Seed the demo term once; False when it was already there (or could not be seeded)."""
    marker = state / MARKER
    if marker.exists():
        return False
    api = _Api(gateway)
    try:
        school = api.call("GET", f"/api/identity/v1/schools/{SCHOOL}", ADMIN, "read the school")
        year, semester = int(school["academic_year"]), int(school["semester"])
        base = f"/api/course-outcomes/v1/schools/{SCHOOL}"
        _open_windows(api, base, f"{year}/{semester}")
        _import_records(api, base, year, semester)
        for local_no in STUDENTS:
            _play_student(api, base, local_no, year, semester)
    except (DemoFailed, httpx.HTTPError) as failed:
        say(f"demo term not seeded: {failed}")
        return False
    finally:
        api.http.close()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(datetime.now(UTC).isoformat() + "\n")
    say(f"demo term {year}-{semester}: windows open, 修課紀錄 imported, outcomes in every state")
    return True
