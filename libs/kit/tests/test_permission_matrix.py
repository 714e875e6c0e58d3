"""Every cell of DESIGN §5, allowed and denied, through the kit's `require` dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from licheng.contracts.permissions import Capability, Role
from licheng.kit.auth import TokenVerifier
from licheng.kit.errors import install_error_handlers
from licheng.kit.permissions import Grant, require
from licheng.testing.fixtures import TestIssuer

SCHOOL = "011302"
OTHER_SCHOOL = "013338"

# DESIGN §5, transcribed cell by cell: capability -> {role: scope}. Absent = denied.
EXPECTED: dict[str, dict[str, str]] = {
    "permissions.manage": {"admin": "all"},
    "announcements.edit": {"admin": "all"},
    "portfolio.write": {
        "admin": "all",
        "performance_submitter": "performances",
        "cadre_submitter": "cadre",
        "performance_item_manager": "performance_items",
        "certificate_manager": "certificates",
        "student": "own",
    },
    "portfolio.read": {
        "admin": "all",
        "course_submitter": "course_outcomes",
        "performance_submitter": "performances",
        "cadre_submitter": "cadre",
        "performance_item_manager": "performance_items",
        "certificate_manager": "certificates",
        "homeroom_teacher": "own_class",
        "student": "own",
    },
    "outcomes.certify": {"course_teacher": "own_courses"},
    "certificates.manage": {"admin": "all", "certificate_manager": "all"},
    "rosters.submit": {
        "admin": "all",
        "course_submitter": "course_outcomes",
        "performance_submitter": "performances",
        "cadre_submitter": "cadre",
    },
    "profile.maintain": {"student": "own"},
    "counseling.record": {"counselor": "all"},
}

CELLS = [(cap, role) for cap in Capability for role in Role]


def _matrix_app(issuer: TestIssuer) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier(
        jwks_url=issuer.jwks_url, issuer=issuer.issuer, audience=issuer.audience
    )
    for capability in Capability:

        async def endpoint(grant: Grant = require(capability)) -> dict[str, Any]:
            return {"scopes": sorted(grant.scopes), "school": grant.school_code}

        app.add_api_route(f"/schools/{{school_code}}/{capability.value}", endpoint)
    return app


@pytest.fixture(scope="module")
async def client(issuer: TestIssuer) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_matrix_app(issuer))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def test_expected_table_covers_every_capability() -> None:
    assert set(EXPECTED) == {c.value for c in Capability}


@pytest.mark.parametrize(("capability", "role"), CELLS, ids=[f"{c}-{r}" for c, r in CELLS])
async def test_cell(
    client: httpx.AsyncClient, issuer: TestIssuer, capability: Capability, role: Role
) -> None:
    headers = issuer.headers(groups=[f"/schools/{SCHOOL}/{role.value}"])
    response = await client.get(f"/schools/{SCHOOL}/{capability.value}", headers=headers)
    expected_scope = EXPECTED[capability.value].get(role.value)
    if expected_scope is None:
        assert response.status_code == 403
        body = response.json()
        assert body["error"] == "forbidden"
        assert "權限" in body["message"]
    else:
        assert response.status_code == 200, response.text
        assert response.json() == {"scopes": [expected_scope], "school": SCHOOL}


@pytest.mark.parametrize("capability", list(Capability))
async def test_role_in_another_school_grants_nothing_here(
    client: httpx.AsyncClient, issuer: TestIssuer, capability: Capability
) -> None:
    every_role = [f"/schools/{OTHER_SCHOOL}/{role.value}" for role in Role]
    response = await client.get(
        f"/schools/{SCHOOL}/{capability.value}", headers=issuer.headers(groups=every_role)
    )
    assert response.status_code == 403


async def test_several_roles_union_their_scopes(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    groups = [f"/schools/{SCHOOL}/homeroom_teacher", f"/schools/{SCHOOL}/cadre_submitter"]
    response = await client.get(
        f"/schools/{SCHOOL}/portfolio.read", headers=issuer.headers(groups=groups)
    )
    assert response.status_code == 200
    assert response.json()["scopes"] == ["cadre", "own_class"]


async def test_district_operator_and_service_hold_no_school_capability(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    operator = issuer.headers(groups=["/district/operators"])
    service = issuer.headers(roles=["service"], groups=[f"/schools/{SCHOOL}/admin"])
    for headers in (operator, service):
        response = await client.get(f"/schools/{SCHOOL}/portfolio.read", headers=headers)
        assert response.status_code == 403


async def test_malformed_school_code_is_not_found(
    client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    headers = issuer.headers(groups=[f"/schools/{SCHOOL}/admin"])
    response = await client.get("/schools/01130/portfolio.read", headers=headers)
    assert response.status_code == 404
    assert response.json()["error"] == "school_not_found"


async def test_no_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/schools/{SCHOOL}/portfolio.read")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"
