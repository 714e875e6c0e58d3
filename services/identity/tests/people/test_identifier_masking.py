"""身分證號 and birth dates: masked in responses, never in events or audit rows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licheng.kit.audit import AuditEntry
from licheng.kit.outbox import OutboxMessage


async def test_responses_mask_identifiers_and_events_never_carry_them(api: Any, seed: Any) -> None:
    seeded = await seed(students=3)
    listed = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/students", headers=api.as_admin()
    )
    first = listed.json()["items"][0]
    raw = next(r for r in seeded.rows if r[0] == first["local_no"])
    # At most the first and last two characters: with the checksum, more would narrow the
    # number down to about a thousand candidates.
    assert first["national_id_masked"] == raw[4][:2] + "******" + raw[4][-2:]
    assert first["birth_date_masked"] == "****-**-" + str(raw[5])[-2:]
    assert raw[4] not in listed.text
    assert raw[5] not in listed.text
    async with api.app.state.engine.connect() as connection:
        payloads = (await connection.execute(sa.select(OutboxMessage.payload))).scalars().all()  # type: ignore[call-overload]
        audits = (await connection.execute(sa.select(AuditEntry.after))).scalars().all()  # type: ignore[call-overload]
    everything = " ".join(payloads) + " ".join(map(str, audits))
    for row in seeded.rows:
        assert row[4] not in everything
        assert row[5] not in everything


async def test_contact_data_only_for_the_admin_the_homeroom_teacher_and_the_student(
    api: Any, seed: Any
) -> None:
    import uuid

    seeded = await seed(students=2)
    url = f"/api/identity/v1/schools/{api.school}/students"
    everyone = (await api.client.get(url, headers=api.as_admin())).json()["items"]
    student = everyone[0]
    me = api.as_roles("student", person_id=uuid.UUID(student["id"]))
    changed = await api.client.patch(
        f"/api/identity/v1/schools/{api.school}/me/profile",
        json={"phone": "0912-345-678", "address": "臺北市中正區"},
        headers=me,
    )
    assert changed.status_code == 200
    homeroom_id = uuid.UUID(seeded.staff["T001"]["id"])
    for who, sees in (
        (api.as_admin(), True),
        (api.as_roles("homeroom_teacher", person_id=homeroom_id), True),
        (me, True),
        (api.as_roles("course_submitter"), False),
        (api.as_roles("performance_submitter"), False),
        (api.as_roles("certificate_manager"), False),
    ):
        listed = (await api.client.get(url, headers=who)).json()["items"]
        row = next((r for r in listed if r["id"] == student["id"]), None)
        assert row is not None
        assert (row["phone"] == "0912-345-678") is sees, row
        assert (row["address"] == "臺北市中正區") is sees
        assert row["name"] == student["name"]
