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
    assert first["national_id_masked"] == raw[4][:3] + "****" + raw[4][-3:]
    assert raw[4] not in listed.text
    assert raw[5] not in listed.text
    async with api.app.state.engine.connect() as connection:
        payloads = (await connection.execute(sa.select(OutboxMessage.payload))).scalars().all()  # type: ignore[call-overload]
        audits = (await connection.execute(sa.select(AuditEntry.after))).scalars().all()  # type: ignore[call-overload]
    everything = " ".join(payloads) + " ".join(map(str, audits))
    for row in seeded.rows:
        assert row[4] not in everything
        assert row[5] not in everything
