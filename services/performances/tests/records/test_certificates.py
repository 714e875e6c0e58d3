"""檢定證照 records name an active item of the school's catalog; a deactivated item keeps the
records that already name it."""

from __future__ import annotations

from sqlmodel import select

from licheng.performances.models import Certificate, Performance

from .conftest import VALID, Filling


async def _deactivate(filling: Filling, code: str) -> None:
    async with filling.api.app.state.session_factory() as session:
        item = (
            await session.exec(
                select(Certificate).where(
                    Certificate.school_code == filling.api.school, Certificate.code == code
                )
            )
        ).one()
        item.active = False
        session.add(item)
        await session.commit()


async def test_a_deactivated_certificate_keeps_old_records_but_not_new_ones(
    filling: Filling,
) -> None:
    await filling.catalog(("GEPT-M", "全民英檢中級", True))
    old = await filling.create("certificate")
    other = await filling.create("certificate", fields={**VALID["certificate"][0],
                                                        "certificate_code": "GEPT-M"})  # fmt: skip
    await _deactivate(filling, "TOEIC")
    url = f"{filling.base}/performances/{old['id']}"
    read = await filling.client.get(url, headers=filling.student())
    assert read.status_code == 200
    assert read.json()["certificate"] == {
        "code": "TOEIC", "name": "多益測驗", "category": None, "issuer": None, "domestic": True,
        "active": False,
    }  # fmt: skip
    edited = await filling.client.patch(
        url, json={"brief": "再考一次", "fields": {"score": "950"}}, headers=filling.student()
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["fields"]["certificate_code"] == "TOEIC"
    assert edited.json()["fields"]["score"] == "950"
    refused = await filling.client.post(
        f"{filling.base}/performances", json=filling.body("certificate"), headers=filling.student()
    )
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]
    assert (problem["loc"], problem["type"]) == (
        ["body", "fields", "certificate_code"],
        "certificate_inactive",
    )
    assert "證照代碼" in problem["message"]
    assert "停用" in problem["message"]
    moved = await filling.client.patch(
        f"{filling.base}/performances/{other['id']}",
        json={"fields": {"certificate_code": "TOEIC"}},
        headers=filling.student(),
    )
    assert moved.status_code == 422
    assert moved.json()["detail"][0]["type"] == "certificate_inactive"
    async with filling.api.app.state.session_factory() as session:
        codes = sorted(
            p.certificate_code or "" for p in (await session.exec(select(Performance))).all()
        )
    assert codes == ["GEPT-M", "TOEIC"]


async def test_another_schools_catalog_is_not_ours(filling: Filling) -> None:
    other = f"{(int(filling.api.school) + 1) % 10**6:06d}"
    await filling.add_rows(Certificate(school_code=other, code="IELTS", name="雅思", active=True))
    refused = await filling.client.post(
        f"{filling.base}/performances",
        json=filling.body("certificate", fields={**VALID["certificate"][0],
                                                 "certificate_code": "IELTS"}),
        headers=filling.student(),
    )  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["type"] == "certificate_unknown"
