"""稽核紀錄 in guidance: the admin reads who saved what, never the text of a writing."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

SECRET = "我的祕密自傳內容，不應出現在稽核紀錄"


async def test_the_admin_reads_writing_saves_without_their_text(school: Any) -> None:
    url = f"{school.base}/me/writings/autobiography"
    for n, text in enumerate((SECRET, SECRET + "\n第二段"), start=1):
        saved = await school.api.client.put(url, json={"text": text}, headers=school.student())
        assert saved.status_code == 200, saved.text
        assert saved.json()["version"] == n
    writing_id = saved.json()["id"]
    patched = await school.api.client.patch(
        f"{school.base}/parameters", json={"max_chars": 2000}, headers=school.as_role("admin")
    )
    assert patched.status_code == 200
    admin = school.api.as_roles("admin", person_id=uuid.uuid4())
    audit = await school.api.client.get(f"{school.base}/audit", headers=admin)
    assert audit.status_code == 200, audit.text
    assert audit.json()["total"] == 3
    assert SECRET not in audit.text
    assert "祕密" not in audit.text
    writings = await school.api.client.get(
        f"{school.base}/audit", params={"entity": "writing"}, headers=admin
    )
    newest, first = writings.json()["items"]
    assert (newest["entity_id"], newest["actor_id"]) == (
        writing_id, str(school.students["110001"])
    )  # fmt: skip
    assert first["before"] is None
    assert (first["after"]["version"], first["after"]["length"]) == (1, len(SECRET))
    assert first["after"]["text_sha256"] == hashlib.sha256(SECRET.encode()).hexdigest()
    assert (newest["before"]["version"], newest["after"]["version"]) == (1, 2)
    parameters = await school.api.client.get(
        f"{school.base}/audit", params={"entity": "parameters"}, headers=admin
    )
    assert parameters.json()["items"][0]["after"]["max_chars"] == 2000


async def test_only_the_admin_reads_the_audit_log(school: Any) -> None:
    audit = f"{school.base}/audit"
    for headers in (school.student(), school.homeroom(), school.counselor()):
        refused = await school.api.client.get(audit, headers=headers)
        assert refused.status_code == 403, refused.text
        assert "items" not in refused.text
