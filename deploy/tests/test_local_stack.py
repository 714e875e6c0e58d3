"""The one-command local run, as a newcomer meets it: `licheng-stack up` on SQLite, the demo
term, a whole term of 課程學習成果 through the gateway, a crashed service brought back, a
backup taken while it runs, `down` from another terminal, everything wiped and the backup
restored (a tampered backup refused), and a second `up` on the restored data that gives every
student's records, portfolio and stored files back without duplicating the demo.

The embedded run exists only on SQLite (a district backs up PostgreSQL with pg_dump,
docs/reliability.md), so these tests have no `db_engine` parametrisation.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from minio import Minio

from licheng.deploy import backup as backups
from licheng.deploy.stack import Stack, load_stack

PORT_OFFSET = 20000  # beside a developer's own stack on the default ports
SCHOOL = "011302"
COMMAND = [sys.executable, "-m", "licheng.deploy.cli"]
PDF = b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n" + bytes(3000)
HISTORY = "115011302H11101010103" + "01"  # 領域 03 社會


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Runner:
    """`licheng-stack up` in the background, its output readable line by line."""

    stack: Stack
    state: Path
    process: subprocess.Popen[str] | None = None
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    output: list[str] = field(default_factory=list)

    @property
    def options(self) -> list[str]:
        return ["--state-dir", str(self.state), "--port-offset", str(PORT_OFFSET)]

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*COMMAND, "up", *self.options],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        stdout = self.process.stdout
        assert stdout is not None

        def pump() -> None:
            with stdout:
                for line in stdout:
                    self.lines.put(line)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, text: str, timeout: float = 240.0) -> str:
        """The first new output line containing `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process is not None
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} from the runner:\n{''.join(self.output)}")

    def wait_exit(self, timeout: float = 120.0) -> int:
        assert self.process is not None
        code = self.process.wait(timeout=timeout)
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return code

    def cli(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, command, *args, *self.options], capture_output=True, text=True, timeout=180
        )

    def url(self, name: str) -> str:
        return next(p.url for p in self.stack.processes if p.name == name)


def _logged_errors(state: Path) -> list[str]:
    """Error-level lines (a 500's `request.crashed`, any unhandled exception) in every log."""
    found = []
    for path in sorted((state / "log").glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                if "Traceback" in line:
                    found.append(f"{path.name}: {line}")
                continue
            if isinstance(event, dict) and event.get("level") in ("error", "critical"):
                found.append(f"{path.name}: {event.get('event')} {event.get('exception', '')}")
    return found


class Gateway:
    """Signed-in calls as the demo accounts; any 5xx fails the test on the spot."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30.0)
        self.tokens: dict[str, str] = {}

    def sign_in(self, username: str) -> str:
        response = self.http.post(
            "/api/identity/v1/dev-auth/token", json={"username": username, "password": "demo"}
        )
        assert response.status_code == 200, response.text
        self.tokens[username] = response.json()["access_token"]
        return self.tokens[username]

    def __call__(self, method: str, path: str, who: str, expect: int = 200, **kwargs: Any) -> Any:
        token = self.tokens.get(who) or self.sign_in(who)
        headers = {"authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        response = self.http.request(method, path, headers=headers, **kwargs)
        assert response.status_code < 500, f"{method} {path}: {response.text}"
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    state = tmp_path / "state"  # its backup goes beside it
    stack = load_stack(state=state, port_offset=PORT_OFFSET)
    started = Runner(stack=stack, state=state)
    try:
        yield started
    finally:
        if started.process is not None and started.process.poll() is None:
            started.process.send_signal(signal.SIGINT)
            started.wait_exit()
        started.cli("down")


def _outcomes_by_brief(gw: Gateway, base: str, who: str, term: dict[str, int]) -> dict[str, Any]:
    listed = gw("GET", f"{base}/me/outcomes", who, params=term)
    return {o["brief"]: o for o in listed}


def _demo_term_is_there(gw: Gateway, base: str, term: dict[str, int]) -> None:
    mine = gw("GET", f"{base}/me/outcomes", f"{SCHOOL}-s-110001", params=term)
    assert sorted(o["status"] for o in mine) == ["certified", "draft", "failed", "submitted"]
    failed = next(o for o in mine if o["status"] == "failed")
    assert failed["fail_reason"] == "04"
    assert failed["fail_explanation"]
    assert [o["selected"] for o in mine if o["status"] == "certified"] == [True]
    queue_ = gw("GET", f"{base}/certifications", f"{SCHOOL}-t-t002")
    assert queue_["total"] == 2  # 110001's 數學 and 110002's 國語文 wait for the teacher


def _walk_a_term(gw: Gateway, base: str, term: dict[str, int]) -> None:
    admin, teacher = f"{SCHOOL}-t-a001", f"{SCHOOL}-t-t002"
    student, homeroom = f"{SCHOOL}-s-110002", f"{SCHOOL}-t-t001"
    year, semester = term["academic_year"], term["semester"]

    # 參數設定: the admin keeps the windows open (勾選 too) and allows two selections; a merge
    # patch changes only what it sends.
    params_url = f"{base}/parameters/{year}/{semester}"
    current = gw("GET", params_url, admin)
    now = datetime.now(UTC)
    changed = gw(
        "PATCH",
        params_url,
        admin,
        headers={
            "if-match": str(current["version"]),
            "content-type": "application/merge-patch+json",
        },
        json={
            "upload_from": (now - timedelta(days=1)).isoformat(),
            "upload_until": (now + timedelta(days=30)).isoformat(),
            "certify_from": (now - timedelta(days=1)).isoformat(),
            "certify_until": (now + timedelta(days=40)).isoformat(),
            "select_from": (now - timedelta(days=1)).isoformat(),
            "select_until": (now + timedelta(days=50)).isoformat(),
            "selections_per_semester": 2,
        },
    )
    assert changed["version"] == current["version"] + 1
    assert changed["file_limits"] == current["file_limits"]

    # 修課紀錄: one more course (歷史) for the student.
    records = (
        "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
        f"{year},{semester},110002,{HISTORY},歷史,2,1,T002,學期課程\n"
    ).encode()
    imported = gw(
        "POST",
        f"{base}/course-records/imports",
        admin,
        params=term,
        files={"file": ("修課紀錄.csv", records, "text/csv")},
    )
    assert imported, imported
    courses = {c["subject_name"]: c for c in gw("GET", f"{base}/me/courses", student, params=term)}
    assert {"歷史", "物理", "國語文"} <= set(courses)

    # The student: an outcome with a PDF, one with a video link; both 送審.
    essay = gw(
        "POST",
        f"{base}/outcomes",
        student,
        expect=201,
        json={
            "enrolment_id": courses["歷史"]["enrolment_id"],
            "outcome_type": "書面報告",
            "brief": "清代臺灣的開港通商",
        },
    )
    gw(
        "PUT",
        f"{base}/outcomes/{essay['id']}/files/document",
        student,
        files={"file": ("報告.pdf", PDF, "application/pdf")},
    )
    video = gw(
        "POST",
        f"{base}/outcomes",
        student,
        expect=201,
        json={
            "enrolment_id": courses["物理"]["enrolment_id"],
            "outcome_type": "實作作品",
            "brief": "單擺週期實驗影片",
            "video_url": "https://www.youtube.com/watch?v=abcdefghijk",
        },
    )
    for outcome in (essay, video):
        sent = gw("POST", f"{base}/outcomes/{outcome['id']}/submission", student)
        assert sent["status"] == "submitted"

    # The teacher: fails the essay with a reason and 說明, certifies the video.
    waiting = {o["id"] for o in gw("GET", f"{base}/certifications", teacher)["items"]}
    assert {essay["id"], video["id"]} <= waiting
    failed = gw(
        "POST",
        f"{base}/outcomes/{essay['id']}/certification",
        teacher,
        json={"certified": False, "reason_code": "03", "explanation": "年代有誤，請再查證"},
    )
    assert (failed["status"], failed["fail_reason"]) == ("failed", "03")
    certified = gw(
        "POST", f"{base}/outcomes/{video['id']}/certification", teacher, json={"certified": True}
    )
    assert certified["status"] == "certified"

    # The student sees why, revises and resubmits; the teacher certifies.
    seen = _outcomes_by_brief(gw, base, student, term)["清代臺灣的開港通商"]
    assert seen["fail_explanation"] == "年代有誤，請再查證"
    revised = gw(
        "PATCH",
        f"{base}/outcomes/{essay['id']}",
        student,
        headers={"if-match": str(seen["version"])},
        json={"brief": "清代臺灣的開港通商（1860 年後）"},
    )
    assert revised["status"] in ("draft", "failed")
    assert gw("POST", f"{base}/outcomes/{essay['id']}/submission", student)["status"] == (
        "submitted"
    )
    again = gw(
        "POST", f"{base}/outcomes/{essay['id']}/certification", teacher, json={"certified": True}
    )
    assert again["status"] == "certified"

    # 勾選 both, then the homeroom teacher sees the class.
    chosen = gw(
        "PUT",
        f"{base}/me/selections",
        student,
        json={**term, "outcome_ids": [essay["id"], video["id"]]},
    )
    assert sorted(o["id"] for o in chosen) == sorted([essay["id"], video["id"]])
    status = gw("GET", f"{base}/status/students", homeroom, params=term)
    rows = {row["local_no"]: row for row in status["items"]}
    assert set(rows) == {"110001", "110002", "110003"}  # class 101 only
    row = rows["110002"]
    assert (row["filled"], row["submitted"], row["certified"], row["selected"]) == (3, 1, 2, 2)


def test_a_full_term_restart_and_rerun_through_the_embedded_stack(runner: Runner) -> None:
    runner.start()
    runner.wait_for("[stack] all ready")
    assert any("demo term" in line and "outcomes in every state" in line for line in runner.output)
    assert any("demo 多元表現" in line for line in runner.output), "".join(runner.output)
    gateway = runner.url("gateway")
    ready = httpx.get(f"{gateway}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    assert "學習歷程檔案" in httpx.get(f"{gateway}/", timeout=5).text
    _portal_sign_in(gateway)
    gw = Gateway(gateway)
    try:
        _term_restart_and_rerun(runner, gw)
    finally:
        gw.http.close()


def _portal_sign_in(gateway: str) -> None:
    """A newcomer signs in to the portal with a demo account and sees the student's pages."""
    with httpx.Client(base_url=gateway, timeout=10) as browser:
        form = browser.get("/auth/login", params={"next": "/student/outcomes"})
        assert form.status_code == 200, form.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None, form.text
        signed_in = browser.post(
            "/auth/login",
            data={"username": f"{SCHOOL}-s-110001", "password": "demo",
                  "csrf_token": token.group(1), "next": "/student/outcomes"},
        )  # fmt: skip
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/student/outcomes"
        page = browser.get("/student/outcomes")
        assert page.status_code == 200, page.text
        assert "我的課程學習成果" in page.text


def _term_restart_and_rerun(runner: Runner, gw: Gateway) -> None:
    school = gw("GET", f"/api/identity/v1/schools/{SCHOOL}", f"{SCHOOL}-t-a001")
    term = {"academic_year": school["academic_year"], "semester": school["semester"]}
    base = f"/api/course-outcomes/v1/schools/{SCHOOL}"

    _demo_term_is_there(gw, base, term)
    _walk_a_term(gw, base, term)
    assert runner.cli("status").returncode == 0

    # A service killed under the runner: reported, restarted, answering again, nothing lost.
    course = next(p for p in runner.stack.processes if p.name == "course-outcomes")
    pid = int((runner.state / "run" / "course-outcomes.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    stopped = runner.wait_for("course-outcomes: process stopped", timeout=30)
    assert "SIGKILL" in stopped
    runner.wait_for("course-outcomes: back", timeout=90)
    assert httpx.get(f"{course.url}/readyz", timeout=5).status_code == 200
    assert len(_outcomes_by_brief(gw, base, f"{SCHOOL}-s-110002", term)) == 3

    # A backup taken while the stack runs; a restore into the running stack is refused.
    _add_files(gw, term)
    before = _everything(gw, runner, term)
    backup = backups.backup(runner.stack, to=runner.state.parent / "backup")
    with pytest.raises(backups.BackupRefused, match="the stack is running"):
        backups.restore(runner.stack, backup)

    # `down` from another terminal: the runner stops everything and exits.
    down = runner.cli("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert runner.wait_exit() == 0, "".join(runner.output)
    for process in runner.stack.processes:
        assert not _listening(process.port), process.name
    for port in runner.stack.infra_ports.values():
        assert not _listening(port), port
    assert not list((runner.state / "run").glob("*.pid"))

    # A backup that does not match its manifest is refused and changes nothing; the good one,
    # restored onto a wiped state (databases, key, demo markers, objects, JetStream), is whole.
    _refuse_tampered_backups(runner, backup)
    for entry in runner.state.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    restored = backups.restore(runner.stack, backup)
    assert (restored.databases, restored.objects) == (5, len(before["objects"]))
    assert backups.running_parts(runner.stack) == []  # the SeaweedFS it started is stopped

    # `up` again on the restored state: the user's work is there, the demo is not seeded twice,
    # and a token signed before the backup still works (the development key came back too).
    token = gw.tokens[f"{SCHOOL}-s-110002"]
    runner.output.clear()
    runner.start()
    runner.wait_for("[stack] all ready")
    assert not any("outcomes in every state" in line for line in runner.output)
    assert not any("demo 多元表現" in line for line in runner.output)
    assert _everything(gw, runner, term) == before
    performances = f"/api/performances/v1/schools/{SCHOOL}"
    chosen = gw("GET", f"{performances}/me/selections", f"{SCHOOL}-s-110001",
                params={"academic_year": term["academic_year"]})  # fmt: skip
    assert (chosen["selected"], chosen["limit"]) == (2, 10)
    assert len(_outcomes_by_brief(gw, base, f"{SCHOOL}-s-110002", term)) == 3
    assert gw.tokens[f"{SCHOOL}-s-110002"] == token
    mine = gw("GET", f"{base}/me/outcomes", f"{SCHOOL}-s-110001", params=term)
    assert len(mine) == 4
    assert (
        len(gw("GET", f"/api/identity/v1/schools/{SCHOOL}/students", f"{SCHOOL}-t-a001")["items"])
        == 6
    )

    runner.process.send_signal(signal.SIGINT)  # type: ignore[union-attr]
    assert runner.wait_exit() == 0, "".join(runner.output)
    assert not _listening(runner.stack.infra_ports["LICHENG_NATS_PORT"])
    assert _logged_errors(runner.state) == []


# Backup and restore ------------------------------------------------------------------------


def _add_files(gw: Gateway, term: dict[str, int]) -> None:
    """Students 110003–110005 each certify and select an outcome with their own PDF."""
    base = f"/api/course-outcomes/v1/schools/{SCHOOL}"
    for local_no in ("110003", "110004", "110005"):
        who = f"{SCHOOL}-s-{local_no}"
        courses = {c["subject_name"]: c for c in gw("GET", f"{base}/me/courses", who, params=term)}
        outcome = gw("POST", f"{base}/outcomes", who, expect=201, json={
            "enrolment_id": courses["物理"]["enrolment_id"], "outcome_type": "書面報告",
            "brief": f"{local_no} 的單擺實驗報告",
        })  # fmt: skip
        own = PDF + f"% {local_no}\n".encode() * 50
        gw("PUT", f"{base}/outcomes/{outcome['id']}/files/document", who,
           files={"file": ("報告.pdf", own, "application/pdf")})  # fmt: skip
        gw("POST", f"{base}/outcomes/{outcome['id']}/submission", who)
        gw("POST", f"{base}/outcomes/{outcome['id']}/certification", f"{SCHOOL}-t-t002",
           json={"certified": True})  # fmt: skip
        gw("PUT", f"{base}/me/selections", who, json={**term, "outcome_ids": [outcome["id"]]})


def _portfolio(gw: Gateway, who: str, *, files: int = 0) -> dict[str, str]:
    """`GET …/me/portfolio`'s entries by SHA-256; the index without its 製表時間 (when it was
    made) and its PDF (printed with that time) aside. Waits (bounded) until it holds `files`
    files: the exports read model follows the other services' events."""
    deadline = time.monotonic() + 30
    while True:
        entries = _portfolio_entries(gw, who)
        if sum(n.startswith("files/") for n in entries) >= files or time.monotonic() > deadline:
            return entries
        time.sleep(0.5)


def _portfolio_entries(gw: Gateway, who: str) -> dict[str, str]:
    response = gw.http.get(
        f"/api/exports/v1/schools/{SCHOOL}/me/portfolio",
        headers={"authorization": f"Bearer {gw.tokens[who]}"},
    )
    assert response.status_code == 200, response.text
    entries = {}
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        for name in archive.namelist():
            if name == "index.pdf":
                continue
            data = archive.read(name)
            if name == "index.html":
                data = re.sub(r"製表時間：[^<]*", "", data.decode()).encode()
            entries[name] = hashlib.sha256(data).hexdigest()
    return entries


def _everything(gw: Gateway, runner: Runner, term: dict[str, int]) -> dict[str, Any]:
    """Every student's records and portfolio, the roster, and every stored object's SHA-256."""
    seen: dict[str, Any] = {}
    year = {"academic_year": term["academic_year"]}
    for local_no in ("110001", "110002", "110003", "110004", "110005"):
        who = f"{SCHOOL}-s-{local_no}"
        seen[f"{local_no} outcomes"] = gw(
            "GET", f"/api/course-outcomes/v1/schools/{SCHOOL}/me/outcomes", who, params=term
        )
        seen[f"{local_no} performances"] = gw(
            "GET", f"/api/performances/v1/schools/{SCHOOL}/me/performances", who, params=year
        )
        # 110001 selected the demo's 國語文 PDF; 110002 the walk's essay; 110003–5 their own.
        seen[f"{local_no} portfolio"] = _portfolio(gw, who, files=1)
    seen["students"] = gw("GET", f"/api/identity/v1/schools/{SCHOOL}/students", f"{SCHOOL}-t-a001")
    values = runner.stack.placeholders()
    client = Minio(runner.stack.common["S3_ENDPOINT"].format(**values), access_key="licheng",
                   secret_key="licheng-dev-secret", secure=False)  # fmt: skip
    objects = {}
    for bucket in backups.buckets_of(runner.stack):
        for item in client.list_objects(bucket, recursive=True):
            assert item.object_name is not None
            response = client.get_object(bucket, item.object_name)
            try:
                content = response.read()
            finally:
                response.close()
                response.release_conn()
            objects[f"{bucket}/{item.object_name}"] = hashlib.sha256(content).hexdigest()
    seen["objects"] = objects
    assert len(set(objects.values())) >= 5, objects  # the demo's PDF, the walk's, three own
    assert sum(name.startswith("files/") for name in seen["110003 portfolio"]) == 1
    return seen


def _state_fingerprint(state: Path) -> dict[str, str]:
    """Every file of a stopped stack's state (its logs aside) by SHA-256."""
    return {
        path.relative_to(state).as_posix(): backups.sha256_of(path)
        for path in sorted(state.rglob("*"))
        if path.is_file() and path.relative_to(state).parts[0] != "log"
    }


def _refuse_tampered_backups(runner: Runner, backup: Path) -> None:
    """The backup with one flaw each is refused (exit code 2) and the state stays as it was."""
    manifest = json.loads((backup / backups.MANIFEST).read_text())
    assert manifest["source"]["running"] is True
    flaws = {
        "a flipped byte in a database": "databases/identity.db",
        "a flipped byte in an object": manifest["objects"][0]["path"],
        "a flipped byte in the manifest": backups.MANIFEST,
        "a missing file": "state/data/dev-issuer-key.pem",
        "a file the manifest does not list": "databases/extra.db",
    }
    unchanged = _state_fingerprint(runner.state)
    for number, (flaw, relative) in enumerate(flaws.items()):
        copy = backup.with_name(f"tampered-{number}")
        shutil.copytree(backup, copy)
        target = copy / relative
        if flaw == "a missing file":
            target.unlink()
        elif flaw == "a file the manifest does not list":
            target.write_bytes(b"SQLite format 3\x00")
        else:
            data = bytearray(target.read_bytes())
            data[len(data) // 2] ^= 0x01
            target.write_bytes(bytes(data))
        if number == 0:  # through the command, as an operator meets it
            result = runner.cli("restore", str(copy))
            assert result.returncode == 2, result.stdout + result.stderr
            assert "restore refused, nothing changed" in result.stdout, result.stdout
        else:
            with pytest.raises(backups.BackupRefused):
                backups.restore(runner.stack, copy)
        assert _state_fingerprint(runner.state) == unchanged, flaw
