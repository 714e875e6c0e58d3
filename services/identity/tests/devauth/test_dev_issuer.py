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

    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(
        token.json()["access_token"],
        key=key,
        algorithms=["RS256"],
        audience="licheng",
        options={"verify_iss": False},
    )  # signed by the published key
    assert claims["groups"] == [f"/schools/{api.school}/homeroom_teacher"]
    assert claims["pid"] == seeded.staff["T001"]["id"]
    # Short-lived, so a revoked role stops working within minutes.
    assert token.json()["expires_in"] == 15 * 60
    assert claims["exp"] - claims["iat"] == 15 * 60
