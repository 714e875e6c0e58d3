"""Exports reads 身分證號 and 出生日期 from identity with a service token, and never logs them.

Identity runs for real over HTTP; the token comes from identity's development issuer (the
embedded run), from Keycloak's `licheng-exports` client, or from the suite's test issuer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from licheng.exports.identifiers import (
    FetchedIdentifiers,
    IdentityIdentifiers,
    IdentityUnavailable,
)
from licheng.exports.settings import Settings as ExportsSettings
from licheng.identity.app import create_app as create_identity
from licheng.identity.cli import MIGRATIONS_DIR as IDENTITY_MIGRATIONS
from licheng.identity.settings import Settings as IdentitySettings
from licheng.kit.service_tokens import ClientCredentials
from licheng.testing.apps import service_settings, serving
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.servers import free_port

ID_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"  # a letter's code is its index plus ten
STUDENT_HEADER = "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態"


def valid_national_id(letter: str, body: str) -> str:
    """A 身分證號 with its check digit (computed independently of identity's validator)."""
    code = ID_LETTERS.index(letter) + 10
    digits = [code // 10, code % 10, *(int(c) for c in body)]
    total = sum(w * d for w, d in zip([1, 9, 8, 7, 6, 5, 4, 3, 2, 1], digits, strict=True))
    return f"{letter}{body}{(10 - total % 10) % 10}"


STUDENTS = {  # 學號 → (身分證號, 出生日期)
    "110001": (valid_national_id("F", "13110409"), "2009-03-14"),
    "110002": (valid_national_id("K", "22457718"), "2008-11-30"),
}


@dataclass
class Roster:
    """A school in identity with the two students, and where identity listens."""

    identity_url: str
    school: str
    student_ids: dict[str, uuid.UUID]  # 學號 → person id


async def create_school(
    http: httpx.AsyncClient, *, identity_url: str, school: str, operator: str
) -> str:
    """Create `school` as the district operator; its admin's username."""
    api = f"{identity_url}/api/identity/v1/schools"
    created = await http.post(
        api,
        headers={"authorization": f"Bearer {operator}"},
        json={"code": school, "name": "測試高中", "academic_year": 115, "semester": 1,
              "admin": {"staff_no": "A1", "name": "管理者"}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return str(created.json()["admin_username"])


async def upload_people(
    http: httpx.AsyncClient, *, identity_url: str, school: str, admin: str
) -> dict[str, uuid.UUID]:
    """Import class 101 and the two students as the school's admin; their person ids by 學號."""
    api = f"{identity_url}/api/identity/v1/schools/{school}"
    headers = {"authorization": f"Bearer {admin}"}
    students = "\n".join(
        [STUDENT_HEADER]
        + [
            f"{no},王小{n},101,{n + 1},{nid},{born},在籍"
            for n, (no, (nid, born)) in enumerate(STUDENTS.items())
        ]
    )
    for kind, text in (
        ("classes", "班級代碼,年級,班級名稱,導師\n101,1,普一甲,\n"),
        ("students", students),
    ):
        response = await http.post(
            f"{api}/imports/{kind}", files={"file": (f"{kind}.csv", text.encode())}, headers=headers
        )
        assert response.status_code == 200, response.text
    listed = await http.get(f"{api}/students", headers=headers)
    assert listed.status_code == 200, listed.text
    return {p["local_no"]: uuid.UUID(p["id"]) for p in listed.json()["items"]}


@asynccontextmanager
async def serving_on(app: FastAPI, port: int) -> AsyncIterator[str]:
    """Serve `app` over HTTP on `port` (chosen beforehand, so its settings can name it)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("identity stopped during start-up")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def assert_fetches_both_students(
    identifiers: IdentityIdentifiers, roster: Roster, capsys: pytest.CaptureFixture[str]
) -> FetchedIdentifiers:
    """Two students and an unknown id: values for the two, the unknown one missing, no leaks."""
    unknown = uuid.uuid4()
    asked = [roster.student_ids["110001"], unknown, roster.student_ids["110002"]]
    capsys.readouterr()
    fetched = await identifiers.fetch(
        school_code=roster.school, student_ids=asked, purpose="export-job-test"
    )
    for no, (national_id, birth_date) in STUDENTS.items():
        got = fetched[roster.student_ids[no]]
        assert (got.national_id, got.birth_date) == (national_id, birth_date)
    assert set(fetched) == {roster.student_ids["110001"], roster.student_ids["110002"]}
    assert fetched.missing == (unknown,)
    logged = capsys.readouterr().out
    assert "identifiers.fetched" in logged  # the logs were captured, and hold counts only
    shown = repr(fetched) + str(fetched)
    for national_id, birth_date in STUDENTS.values():
        assert national_id not in logged
        assert birth_date not in logged
        assert national_id not in shown
        assert birth_date not in shown
    return fetched


@pytest.fixture
async def identity_database(migrated_database: MigratedDatabaseFactory) -> str:
    return await migrated_database(IDENTITY_MIGRATIONS, "exports_identity")


async def test_embedded_run_fetches_with_the_development_issuers_service_token(
    infra: TestInfra,
    identity_database: str,
    nats_client: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # As `./licheng up` runs it: identity trusts its own development issuer, no Keycloak.
    port = free_port()
    identity_url = f"http://127.0.0.1:{port}"
    identity = create_identity(
        service_settings(
            IdentitySettings,
            infra=infra,
            database_url=identity_database,
            jwks_url=f"{identity_url}/api/identity/v1/dev-auth/jwks",
            issuer=f"{identity_url}/dev-issuer",
        )
    )
    async with serving_on(identity, port), httpx.AsyncClient(timeout=30) as http:

        async def sign_in(username: str) -> str:
            response = await http.post(
                f"{identity_url}/api/identity/v1/dev-auth/token",
                json={"username": username, "password": "demo"},
            )
            assert response.status_code == 200, response.text
            return str(response.json()["access_token"])

        school = f"{uuid.uuid4().int % 10**6:06d}"
        admin = await create_school(
            http,
            identity_url=identity_url,
            school=school,
            operator=await sign_in("operator"),
        )
        ids = await upload_people(
            http, identity_url=identity_url, school=school, admin=await sign_in(admin)
        )
        settings = ExportsSettings(
            environment="test",
            identity_url=identity_url,
            token_url=f"{identity_url}/api/identity/v1/dev-auth/service-token",
        )
        identifiers = IdentityIdentifiers(
            identity_url=settings.identity_url,
            tokens=ClientCredentials(
                token_url=settings.token_url,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
            ),
        )
        await assert_fetches_both_students(identifiers, Roster(identity_url, school, ids), capsys)


async def test_with_keycloak_fetches_with_the_licheng_exports_client(
    infra: TestInfra,
    identity_database: str,
    nats_client: object,
    keycloak_http: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token_url = f"{infra.keycloak_issuer}/protocol/openid-connect/token"

    async def sign_in(username: str) -> str:
        response = await keycloak_http.post(
            token_url,
            data={"grant_type": "password", "client_id": "licheng-test-signin",
                  "username": username, "password": "test-password"},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    identity = create_identity(
        service_settings(
            IdentitySettings,
            infra=infra,
            database_url=identity_database,
            jwks_url=f"{infra.keycloak_issuer}/protocol/openid-connect/certs",
            issuer=infra.keycloak_issuer,
            dev_issuer_enabled=False,
        )
    )
    school = "011302"  # the realm's t-admin is this school's 系統管理者
    async with serving(identity) as identity_url, httpx.AsyncClient(timeout=30) as http:
        await create_school(
            http,
            identity_url=identity_url,
            school=school,
            operator=await sign_in("t-operator"),
        )
        ids = await upload_people(
            http, identity_url=identity_url, school=school, admin=await sign_in("t-admin")
        )
        identifiers = IdentityIdentifiers(
            identity_url=identity_url,
            tokens=ClientCredentials(
                token_url=token_url,
                client_id="licheng-exports",
                client_secret=SecretStr("exports-dev-secret"),
            ),
        )
        await assert_fetches_both_students(identifiers, Roster(identity_url, school, ids), capsys)


class TestIssuerServiceTokens:
    """Service tokens of the suite's test issuer, as Keycloak's `licheng-exports` would sign."""

    __test__ = False

    def __init__(self, issuer: TestIssuer) -> None:
        self.issuer = issuer

    async def token(self) -> str:
        """A fresh service-account token."""
        return self.issuer.token(roles=["service"], azp="licheng-exports")


@pytest.fixture
async def identity_on_test_issuer(
    infra: TestInfra, identity_database: str, issuer: TestIssuer, nats_client: object
) -> AsyncIterator[Roster]:
    identity = create_identity(
        service_settings(
            IdentitySettings,
            infra=infra,
            database_url=identity_database,
            jwks_url=issuer.jwks_url,
            issuer=issuer.issuer,
        )
    )
    school = f"{uuid.uuid4().int % 10**6:06d}"
    async with serving(identity) as identity_url, httpx.AsyncClient(timeout=30) as http:
        await create_school(
            http,
            identity_url=identity_url,
            school=school,
            operator=issuer.token(groups=["/district/operators"]),
        )
        ids = await upload_people(
            http,
            identity_url=identity_url,
            school=school,
            admin=issuer.token(groups=[f"/schools/{school}/admin"]),
        )
        yield Roster(identity_url, school, ids)


async def test_large_requests_go_in_batches_of_a_thousand(
    identity_on_test_issuer: Roster, issuer: TestIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = identity_on_test_issuer
    posted: list[int] = []

    async def count(request: httpx.Request) -> None:
        posted.append(len(request.content))

    async with httpx.AsyncClient(timeout=30, event_hooks={"request": [count]}) as http:
        identifiers = IdentityIdentifiers(
            identity_url=roster.identity_url, tokens=TestIssuerServiceTokens(issuer), http=http
        )
        await assert_fetches_both_students(identifiers, roster, capsys)
        assert len(posted) == 1
        strangers = [uuid.uuid4() for _ in range(2100)]
        asked = [*strangers[:1500], roster.student_ids["110002"], *strangers[1500:]]
        fetched = await identifiers.fetch(
            school_code=roster.school, student_ids=[*asked, *asked[:10]], purpose="job-2"
        )
    assert len(posted) == 1 + 3  # 2101 distinct ids: 1000 + 1000 + 101
    assert list(fetched) == [roster.student_ids["110002"]]
    assert fetched.missing == tuple(strangers)  # asked order, each once
    assert await identifiers.fetch(school_code=roster.school, student_ids=[], purpose="x") == {}


async def test_identity_unreachable_or_refusing_is_unavailable(
    identity_on_test_issuer: Roster, issuer: TestIssuer
) -> None:
    roster = identity_on_test_issuer
    asked = list(roster.student_ids.values())
    nobody = IdentityIdentifiers(
        identity_url=f"http://127.0.0.1:{free_port()}", tokens=TestIssuerServiceTokens(issuer)
    )
    with pytest.raises(IdentityUnavailable, match="無法連線至身分資料服務") as unreachable:
        await nobody.fetch(school_code=roster.school, student_ids=asked, purpose="job-3")
    assert unreachable.value.status_code == 503

    class PersonTokens:
        async def token(self) -> str:
            return issuer.token(groups=[f"/schools/{roster.school}/admin"])

    not_a_service = IdentityIdentifiers(identity_url=roster.identity_url, tokens=PersonTokens())
    with pytest.raises(IdentityUnavailable, match="HTTP 403") as refused:
        await not_a_service.fetch(school_code=roster.school, student_ids=asked, purpose="job-4")
    for national_id, birth_date in STUDENTS.values():
        assert national_id not in str(refused.value)
        assert birth_date not in str(refused.value)
    bad_secret = IdentityIdentifiers(
        identity_url=roster.identity_url,
        tokens=ClientCredentials(
            token_url=f"{roster.identity_url}/api/identity/v1/dev-auth/service-token",
            client_id="licheng-exports",
            client_secret=SecretStr("not-the-secret"),
        ),
    )
    with pytest.raises(IdentityUnavailable, match="系統服務憑證"):
        await bad_secret.fetch(school_code=roster.school, student_ids=asked, purpose="job-5")
