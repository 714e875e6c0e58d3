"""The 檢定證照 catalog: adding, changing, searching, who may, and every change recorded."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from licheng.kit.audit import AuditEntry
from licheng.kit.outbox import OutboxMessage
from licheng.performances.models import Certificate


def manager(school: Any) -> dict[str, str]:
    """Headers of the school's 證照項目管理者."""
    headers: dict[str, str] = school.as_role("certificate_manager")
    return headers


async def add(school: Any, code: str, name: str, **extra: Any) -> Any:
    """POST a catalog item as the manager."""
    return await school.api.client.post(
        f"{school.base}/certificates",
        json={"code": code, "name": name, **extra},
        headers=manager(school),
    )


async def test_items_are_added_searched_changed_and_deactivated(school: Any) -> None:
    api, url = school.api, f"{school.base}/certificates"
    created = await add(school, "ａ0001", "電腦軟體應用乙級", category="技術士證",
                        issuer="勞動部勞動力發展署")  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "A0001"  # full width folded, upper case
    assert created.json()["domestic"] is True
    assert created.json()["active"] is True
    assert (await add(school, "B0002", "全民英檢中級", domestic=True)).status_code == 201
    assert (await add(school, "T0003", "TOEIC 750", domestic=False)).status_code == 201
    duplicate = await add(school, "a0001", "重複的代碼")
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "certificate_exists"
    bad_code = await add(school, "A 0001", "有空白")
    assert bad_code.status_code == 422

    everyone = await api.client.get(url, headers=school.student())
    assert everyone.status_code == 200
    assert [i["code"] for i in everyone.json()["items"]] == ["A0001", "B0002", "T0003"]
    by_name = await api.client.get(url, params={"q": "英檢"}, headers=school.student())
    assert [i["code"] for i in by_name.json()["items"]] == ["B0002"]
    by_code = await api.client.get(url, params={"q": "t00"}, headers=school.student())
    assert [i["code"] for i in by_code.json()["items"]] == ["T0003"]
    wildcard = await api.client.get(url, params={"q": "%"}, headers=school.student())
    assert wildcard.json()["total"] == 0
    first = await api.client.get(url, params={"limit": 2}, headers=school.student())
    assert first.json()["total"] == 3
    assert first.json()["next_cursor"]
    rest = await api.client.get(
        url, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=school.student()
    )
    assert [i["code"] for i in rest.json()["items"]] == ["T0003"]

    audit_before = await api.count(AuditEntry)
    events_before = await api.count(OutboxMessage)
    renamed = await api.client.patch(
        f"{url}/a0001", json={"name": "電腦軟體應用 乙級", "issuer": None}, headers=manager(school)
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "電腦軟體應用 乙級"
    assert renamed.json()["issuer"] is None
    same = await api.client.patch(
        f"{url}/A0001", json={"name": "電腦軟體應用 乙級"}, headers=manager(school)
    )
    assert same.status_code == 200
    assert await api.count(AuditEntry) == audit_before + 1
    assert await api.count(OutboxMessage) == events_before + 1
    off = await api.client.patch(f"{url}/B0002", json={"active": False}, headers=manager(school))
    assert off.status_code == 200
    assert off.json()["active"] is False
    active = await api.client.get(url, params={"active": "true"}, headers=school.student())
    assert [i["code"] for i in active.json()["items"]] == ["A0001", "T0003"]
    inactive = await api.client.get(f"{url}/B0002", headers=school.student())
    assert inactive.status_code == 200
    assert inactive.json()["active"] is False
    assert await api.count(Certificate) == 3  # deactivated, never deleted

    async with api.app.state.session_factory() as session:
        actions = (
            await session.exec(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "certificate")
                .order_by(AuditEntry.occurred_at)
            )
        ).all()
    assert actions == ["certificate.created"] * 3 + ["certificate.updated",
                                                     "certificate.deactivated"]  # fmt: skip

    missing = await api.client.patch(f"{url}/Z9999", json={"name": "x"}, headers=manager(school))
    assert missing.status_code == 404
    assert missing.json()["error"] == "certificate_not_found"
    null_name = await api.client.patch(f"{url}/A0001", json={"name": None},
                                       headers=manager(school))  # fmt: skip
    assert null_name.status_code == 422
    unknown_field = await api.client.patch(f"{url}/A0001", json={"code": "X"},
                                           headers=manager(school))  # fmt: skip
    assert unknown_field.status_code == 422


async def test_students_read_the_catalog_but_only_managers_change_it(school: Any) -> None:
    api, url = school.api, f"{school.base}/certificates"
    assert (await add(school, "A0001", "丙級")).status_code == 201
    admin = await api.client.post(
        url, json={"code": "A0002", "name": "乙級"}, headers=school.as_role("admin")
    )
    assert admin.status_code == 201
    for role in ("student", "performance_item_manager", "performance_submitter"):
        headers = school.student() if role == "student" else school.as_role(role)
        listed = await api.client.get(url, headers=headers)
        assert listed.status_code == 200, role
        denied = await api.client.post(url, json={"code": "A0003", "name": "x"}, headers=headers)
        assert denied.status_code == 403, role
        patched = await api.client.patch(f"{url}/A0001", json={"active": False}, headers=headers)
        assert patched.status_code == 403, role
        imported = await api.client.post(
            f"{url}/imports", files={"file": ("c.csv", "證照代碼,證照名稱,國內國外\n".encode())},
            headers=headers,
        )  # fmt: skip
        assert imported.status_code == 403, role
    outsider = await api.client.get(url, headers=school.as_role("course_teacher"))
    assert outsider.status_code == 403
    other_school = await api.client.get(
        "/api/performances/v1/schools/999999/certificates", headers=school.student()
    )
    assert other_school.status_code == 403
    assert await api.count(Certificate) == 2
