"""The Keycloak directory (users, groups, attributes) against the test infrastructure's Keycloak."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError

from licheng.identity.keycloak import (
    DirectoryRejected,
    DirectoryUnavailable,
    DirectoryUser,
    KeycloakDirectory,
)
from licheng.testing.infra import TestInfra
from licheng.testing.servers import TcpProxy

CLIENT_ID = "licheng-identity"
CLIENT_SECRET = "identity-dev-secret"
PASSWORD = "Sync-test-password-1"


@dataclass
class Created:
    """What a test made in the shared realm, deleted when it ends."""

    person_ids: list[uuid.UUID] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    group_paths: list[str] = field(default_factory=list)

    def school(self) -> str:
        """A fresh school code (its groups do not exist yet)."""
        code = f"9{uuid.uuid4().int % 100_000:05d}"
        self.group_paths.append(f"/schools/{code}")
        return code

    def user(self, groups: set[str], **fields: Any) -> DirectoryUser:
        """A person unknown to Keycloak."""
        person_id = uuid.uuid4()
        self.person_ids.append(person_id)
        tag = person_id.hex[:10]
        values: dict[str, Any] = {
            "person_id": person_id,
            "username": f"sync-t-{tag}",
            "display_name": "王小明",
            "email": f"sync-{tag}@licheng.test",
            "enabled": True,
            "groups": frozenset(groups),
            **fields,
        }
        return DirectoryUser(**values)


@pytest.fixture
async def admin(infra: TestInfra) -> AsyncIterator[KeycloakAdmin]:
    """The admin API as identity's service account, to look behind the directory's back."""
    connection = KeycloakOpenIDConnection(
        server_url=f"{infra.keycloak_url}/",
        realm_name=infra.keycloak_realm,
        client_id=CLIENT_ID,
        client_secret_key=CLIENT_SECRET,
        timeout=10,
    )
    yield KeycloakAdmin(connection=connection)
    await connection.aclose()
    await connection.keycloak_openid.connection.aclose()


@pytest.fixture
async def created(admin: KeycloakAdmin) -> AsyncIterator[Created]:
    """Records what the test creates; deletes those users and groups afterwards."""
    record = Created()
    yield record
    user_ids = set(record.user_ids)
    for person_id in record.person_ids:
        user_ids.update(rep["id"] for rep in await admin.a_get_users({"q": f"pid:{person_id}"}))
    for user_id in user_ids:
        with contextlib.suppress(KeycloakError):
            await admin.a_delete_user(user_id)
    for path in record.group_paths:
        with contextlib.suppress(KeycloakError):
            await admin.a_delete_group((await admin.a_get_group_by_path(path))["id"])


@pytest.fixture
async def directory(infra: TestInfra) -> AsyncIterator[KeycloakDirectory]:
    """The directory on the test realm, giving new users a password."""
    async with KeycloakDirectory(
        server_url=infra.keycloak_url,
        realm=infra.keycloak_realm,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        initial_password=PASSWORD,
    ) as directory:
        yield directory


async def sign_in(http: httpx.AsyncClient, infra: TestInfra, username: str) -> httpx.Response:
    """A password grant at the portal client."""
    return await http.post(
        f"/realms/{infra.keycloak_realm}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "licheng-test-signin",
            "username": username,
            "password": PASSWORD,
        },
    )


async def token_claims(http: httpx.AsyncClient, infra: TestInfra, username: str) -> dict[str, Any]:
    """The payload of a fresh access token (its signature is the token verifier's business)."""
    response = await sign_in(http, infra, username)
    assert response.status_code == 200, response.text
    payload = response.json()["access_token"].split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


async def keycloak_user(admin: KeycloakAdmin, user: DirectoryUser) -> dict[str, Any]:
    """The one Keycloak user carrying the person's pid."""
    reps = await admin.a_get_users({"q": f"pid:{user.person_id}"})
    assert len(reps) == 1
    rep: dict[str, Any] = reps[0]
    return rep


async def group_paths(admin: KeycloakAdmin, user_id: str) -> set[str]:
    """The paths of every group the Keycloak user is in."""
    return {group["path"] for group in await admin.a_get_user_groups(user_id)}


async def test_a_new_user_signs_in_with_pid_groups_and_name(
    directory: KeycloakDirectory,
    keycloak_http: httpx.AsyncClient,
    infra: TestInfra,
    created: Created,
) -> None:
    school = created.school()  # its groups are created on demand
    user = created.user(
        {f"/schools/{school}/course_teacher", f"/schools/{school}/homeroom_teacher"}
    )

    await directory.apply(user)

    claims = await token_claims(keycloak_http, infra, user.username)
    assert claims["pid"] == str(user.person_id)
    assert sorted(claims["groups"]) == sorted(user.groups)
    assert claims["name"] == "王小明"
    assert claims["preferred_username"] == user.username
    assert claims["email"] == user.email


async def test_fewer_groups_leave_the_next_token_and_unmanaged_groups_stay(
    directory: KeycloakDirectory,
    admin: KeycloakAdmin,
    keycloak_http: httpx.AsyncClient,
    infra: TestInfra,
    created: Created,
) -> None:
    school = created.school()
    course, homeroom = f"/schools/{school}/course_teacher", f"/schools/{school}/homeroom_teacher"
    user = created.user({course, homeroom})
    await directory.apply(user)
    user_id = (await keycloak_user(admin, user))["id"]
    unmanaged = f"/sync-test-{uuid.uuid4().hex[:8]}"  # a group someone else looks after
    created.group_paths.append(unmanaged)
    unmanaged_id = await admin.a_create_group({"name": unmanaged[1:]})
    assert unmanaged_id is not None
    await admin.a_group_user_add(user_id, unmanaged_id)

    await directory.apply(replace(user, groups=frozenset({course})))

    claims = await token_claims(keycloak_http, infra, user.username)
    assert sorted(claims["groups"]) == sorted([course, unmanaged])
    await directory.apply(replace(user, groups=frozenset()))
    assert await group_paths(admin, user_id) == {unmanaged}


async def test_apply_is_idempotent_and_follows_name_email_and_enabled(
    directory: KeycloakDirectory,
    admin: KeycloakAdmin,
    keycloak_http: httpx.AsyncClient,
    infra: TestInfra,
    created: Created,
) -> None:
    school = created.school()
    user = created.user({f"/schools/{school}/student"})
    await directory.apply(user)
    await directory.apply(user)
    rep = await keycloak_user(admin, user)
    assert await group_paths(admin, rep["id"]) == set(user.groups)
    # An attribute identity does not own survives its updates.
    await admin.a_update_user(rep["id"], {"attributes": {**rep["attributes"], "note": ["x"]}})

    renamed = replace(user, display_name="李大華", email=f"New-{user.email}")
    await directory.apply(renamed)
    claims = await token_claims(keycloak_http, infra, user.username)
    assert (claims["name"], claims["email"]) == ("李大華", f"new-{user.email}")
    rep = await keycloak_user(admin, user)
    assert rep["attributes"] == {"pid": [str(user.person_id)], "note": ["x"]}

    await directory.apply(replace(renamed, enabled=False))
    refused = await sign_in(keycloak_http, infra, user.username)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"

    await directory.apply(replace(renamed, email=None))
    claims = await token_claims(keycloak_http, infra, user.username)
    assert "email" not in claims
    assert claims["pid"] == str(user.person_id)


async def test_an_unclaimed_user_is_adopted_and_conflicts_are_rejected(
    directory: KeycloakDirectory, admin: KeycloakAdmin, created: Created
) -> None:
    user = created.user(set())
    hand_made = await admin.a_create_user({"username": user.username, "enabled": True})
    created.user_ids.append(hand_made)

    await directory.apply(user)
    rep = await keycloak_user(admin, user)
    assert rep["id"] == hand_made
    assert rep["firstName"] == user.display_name

    someone_else = created.user(set(), username=user.username)
    with pytest.raises(DirectoryRejected, match="username belongs to another person") as caught:
        await directory.apply(someone_else)
    assert user.username not in str(caught.value)
    same_email = created.user(set(), email=user.email)
    with pytest.raises(DirectoryRejected, match="already taken") as caught:
        await directory.apply(same_email)
    assert user.email is not None
    assert user.email not in str(caught.value)
    with pytest.raises(DirectoryRejected, match="400"):
        await directory.apply(created.user(set(), username="x"))  # shorter than 3
    with pytest.raises(DirectoryRejected, match="not a managed group"):
        await directory.apply(replace(user, groups=frozenset({"/elsewhere/admin"})))


async def test_a_username_change_is_applied_last(
    directory: KeycloakDirectory,
    admin: KeycloakAdmin,
    keycloak_http: httpx.AsyncClient,
    infra: TestInfra,
    created: Created,
) -> None:
    school = created.school()
    user = created.user({f"/schools/{school}/student"})
    await directory.apply(user)
    moved = replace(
        user, username=f"{user.username}-r", groups=frozenset({f"/schools/{school}/counselor"})
    )

    if (await admin.a_get_realm(infra.keycloak_realm)).get("editUsernameAllowed"):
        await directory.apply(moved)
        claims = await token_claims(keycloak_http, infra, moved.username)
        assert claims["preferred_username"] == moved.username
    else:
        # The realm forbids renames: the rest is applied, then the event is rejected.
        with pytest.raises(DirectoryRejected, match="rename user: Keycloak answered 400"):
            await directory.apply(moved)
    rep = await keycloak_user(admin, user)
    assert await group_paths(admin, rep["id"]) == set(moved.groups)


async def test_concurrent_applies_share_new_groups_and_one_user(
    directory: KeycloakDirectory, admin: KeycloakAdmin, created: Created
) -> None:
    school = created.school()
    groups = {f"/schools/{school}/course_teacher", f"/schools/{school}/counselor"}
    first, second, third = (created.user(groups) for _ in range(3))

    await asyncio.gather(*(directory.apply(u) for u in (first, first, second, third)))

    for user in (first, second, third):
        rep = await keycloak_user(admin, user)  # exactly one each
        assert await group_paths(admin, rep["id"]) == groups
    school_id = (await admin.a_get_group_by_path(f"/schools/{school}"))["id"]
    children = await admin.a_get_group_children(school_id)
    assert sorted(child["name"] for child in children) == ["counselor", "course_teacher"]


def directory_at(url: str, infra: TestInfra, timeout: float) -> KeycloakDirectory:
    """A directory reaching the realm through `url`."""
    return KeycloakDirectory(
        server_url=url,
        realm=infra.keycloak_realm,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        timeout_seconds=timeout,
        initial_password=PASSWORD,
    )


async def test_an_unreachable_keycloak_is_unavailable_until_it_returns(
    admin: KeycloakAdmin, infra: TestInfra, created: Created
) -> None:
    keycloak = urlsplit(infra.keycloak_url)
    proxy = TcpProxy(keycloak.hostname or "127.0.0.1", keycloak.port or 80)
    await proxy.start()
    school = created.school()
    user = created.user({f"/schools/{school}/course_teacher", f"/schools/{school}/admin"})
    fewer = replace(user, groups=frozenset({f"/schools/{school}/admin"}))
    try:
        async with directory_at(f"http://127.0.0.1:{proxy.port}", infra, 1.0) as directory:
            await directory.apply(user)
            await proxy.cut()

            started = time.monotonic()
            with pytest.raises(DirectoryUnavailable, match="did not answer"):
                await directory.apply(fewer)
            with pytest.raises(DirectoryUnavailable):
                await directory.ping()
            assert time.monotonic() - started < 2.0

            await proxy.start()
            await directory.ping()
            await directory.apply(fewer)
    finally:
        await proxy.cut()
    rep = await keycloak_user(admin, user)
    assert await group_paths(admin, rep["id"]) == set(fewer.groups)


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the client gives up and hangs up
    writer.close()


async def _failing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    writer.close()


@pytest.mark.parametrize(("handler", "reason"), [(_silent, "did not answer"), (_failing, "503")])
async def test_a_hanging_or_failing_keycloak_is_unavailable(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    reason: str,
    infra: TestInfra,
    created: Created,
) -> None:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = time.monotonic()
    try:
        async with directory_at(f"http://127.0.0.1:{port}", infra, 0.5) as directory:
            with pytest.raises(DirectoryUnavailable, match=reason):
                await directory.apply(created.user(set()))
            with pytest.raises(DirectoryUnavailable, match=reason):
                await directory.ping()
    finally:
        server.close()
        await server.wait_closed()
    assert time.monotonic() - started < 3.0
