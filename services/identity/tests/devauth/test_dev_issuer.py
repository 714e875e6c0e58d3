"""The development issuer: the demo password signs a token with the person's pid and groups."""

from __future__ import annotations

from typing import Any


async def test_dev_issuer_signs_tokens_services_accept(api: Any, seed: Any) -> None:
    seeded = await seed(students=1)
    username = seeded.staff["T001"]["username"]
    wrong = await api.client.post(
        "/api/identity/v1/dev-auth/token", json={"username": username, "password": "nope"}
    )
    assert wrong.status_code == 401
    token = await api.client.post(
        "/api/identity/v1/dev-auth/token", json={"username": username, "password": "demo"}
    )
    assert token.status_code == 200
    jwks = (await api.client.get("/api/identity/v1/dev-auth/jwks")).json()
    assert jwks["keys"][0]["kty"] == "RSA"
    import jwt

    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["groups"] == [f"/schools/{api.school}/homeroom_teacher"]
    assert claims["pid"] == seeded.staff["T001"]["id"]
