"""Push people and their role groups from identity (the source of truth) into Keycloak."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, cast

import structlog
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakConnectionError, KeycloakError

from licheng.kit.inbox import PoisonMessage

MANAGED_GROUP_PREFIXES = ("/schools/", "/district/")

# Answers a retry can cure: the service account's secret or roles being fixed (401/403), a
# user or group deleted meanwhile (404), throttling (408/429). Other 4xx mean a bug.
_RETRYABLE_STATUSES = frozenset({401, 403, 404, 408, 429})
_GROUP_PATH = re.compile(r"(/[^/]+){2,}")

log = structlog.get_logger("licheng.identity.keycloak")


@dataclass(frozen=True)
class DirectoryUser:
    """What Keycloak should hold about one person."""

    person_id: uuid.UUID
    username: str
    display_name: str
    email: str | None
    enabled: bool
    groups: frozenset[str]


class DirectoryError(Exception):
    """Keycloak could not be made to match identity."""


class DirectoryUnavailable(DirectoryError):
    """Keycloak is unreachable, timing out, failing or refusing the service account: retry later."""


class DirectoryRejected(DirectoryError, PoisonMessage):
    """Keycloak refuses this user as given (a bug or a conflict): retrying cannot help."""


def is_managed_group(path: str) -> bool:
    """Whether identity owns membership of the group at `path`."""
    return path.startswith(MANAGED_GROUP_PREFIXES)


def _error_key(exc: KeycloakError) -> str:
    """Keycloak's error key, without the `params` that may echo submitted (personal) values."""
    try:
        body = json.loads(exc.response_body or b"")
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("errorMessage", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])[:80]
    return ""


@contextmanager
def _step(action: str) -> Iterator[None]:
    """Translate python-keycloak's errors raised while doing `action` into ours."""
    try:
        yield
    except KeycloakConnectionError as exc:
        raise DirectoryUnavailable(f"{action}: Keycloak did not answer") from exc
    except KeycloakError as exc:
        code = exc.response_code
        reason = f"{action}: Keycloak answered {code} {_error_key(exc)}".rstrip()
        # `from None`: the original's message holds the response body, which may echo values.
        if code is None or code >= 500 or code in _RETRYABLE_STATUSES:
            raise DirectoryUnavailable(reason) from None
        raise DirectoryRejected(reason) from None


class KeycloakDirectory:
    """The realm's users and groups, through the admin REST API as a service account."""

    def __init__(
        self,
        *,
        server_url: str,
        realm: str,
        client_id: str,
        client_secret: str,
        timeout_seconds: float = 10.0,
        initial_password: str | None = None,
    ) -> None:
        self._connection = KeycloakOpenIDConnection(
            # A trailing slash keeps a path prefix (`…/auth/`): the library uses urljoin.
            server_url=server_url.rstrip("/") + "/",
            realm_name=realm,
            client_id=client_id,
            client_secret_key=client_secret,
            # Annotated int, but handed unchanged to httpx, which takes fractions of seconds.
            timeout=cast(int, timeout_seconds),
        )
        self._admin = KeycloakAdmin(connection=self._connection)
        self._initial_password = initial_password
        self._group_ids: dict[str, str] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP clients (the admin API's and the token endpoint's)."""
        await self._connection.aclose()
        await self._connection.keycloak_openid.connection.aclose()

    async def ping(self) -> None:
        """Raise DirectoryUnavailable unless Keycloak answers the service account."""
        with _step("ping"):
            await self._admin.a_users_count()

    async def apply(self, user: DirectoryUser) -> None:
        """Make Keycloak match `user`: idempotent, safe to repeat and to run out of order."""
        for path in user.groups:
            if not is_managed_group(path) or not _GROUP_PATH.fullmatch(path):
                raise DirectoryRejected("a desired group is not a managed group path")
        username = user.username.lower()  # Keycloak stores usernames lowercased
        user_id, found = await self._ensure_user(user, username)
        with _step("sync groups"):
            await self._sync_groups(user_id, user.groups)
        # Last, so a realm that forbids renames (editUsernameAllowed false) still gets the rest.
        if found is not None and found["username"] != username:
            with _step("rename user"):
                await self._admin.a_update_user(user_id, {"username": username})
            log.info("keycloak.user_renamed", keycloak_user_id=user_id)

    async def _ensure_user(
        self, user: DirectoryUser, username: str
    ) -> tuple[str, dict[str, Any] | None]:
        """The user's Keycloak id, and what Keycloak held before unless it was just created."""
        with _step("find user"):
            found = await self._find(user.person_id, username)
        if found is None:
            with _step("create user"):
                user_id = await self._create(user, username)
            if user_id is not None:
                return user_id, None
            with _step("find user"):  # 409: maybe a concurrent apply created it first
                found = await self._find(user.person_id, username)
            if found is None:
                raise DirectoryRejected("create user: username or e-mail already taken")
        with _step("update user"):
            await self._update(found, user)
        return str(found["id"]), found

    async def _find(self, person_id: uuid.UUID, username: str) -> dict[str, Any] | None:
        """The user carrying `pid`, else an unclaimed user of that username."""
        pid = str(person_id)
        by_pid = [
            rep
            for rep in await self._admin.a_get_users({"q": f"pid:{pid}"})
            if rep.get("attributes", {}).get("pid") == [pid]
        ]
        if len(by_pid) > 1:
            raise DirectoryRejected("find user: several Keycloak users carry the same pid")
        if by_pid:
            return cast(dict[str, Any], by_pid[0])
        for rep in await self._admin.a_get_users({"username": username, "exact": True}):
            if rep["username"] == username:
                if rep.get("attributes", {}).get("pid", [pid]) != [pid]:
                    raise DirectoryRejected("find user: username belongs to another person")
                # No pid yet (created by hand, or before the sync): adopt it.
                return cast(dict[str, Any], rep)
        return None

    async def _create(self, user: DirectoryUser, username: str) -> str | None:
        """Create the user; None when the username or e-mail is already taken."""
        payload: dict[str, Any] = {
            "username": username,
            **_profile(user),
            "attributes": {"pid": [str(user.person_id)]},
            "requiredActions": [],
        }
        if self._initial_password is not None:
            # In the create call itself, so no retry can leave a created user without it.
            payload["credentials"] = [
                {"type": "password", "value": self._initial_password, "temporary": False}
            ]
        try:
            user_id = str(await self._admin.a_create_user(payload))
        except KeycloakError as exc:
            if exc.response_code == 409:
                return None
            raise
        log.info("keycloak.user_created", keycloak_user_id=user_id)
        return user_id

    async def _update(self, found: dict[str, Any], user: DirectoryUser) -> None:
        """Update the profile fields and the pid attribute that differ."""
        wanted = _profile(user)
        current = {
            "firstName": found.get("firstName") or "",
            "lastName": found.get("lastName") or "",
            "email": found.get("email") or "",
            "emailVerified": bool(found.get("emailVerified")),
            "enabled": bool(found.get("enabled")),
        }
        changes = {key: value for key, value in wanted.items() if current[key] != value}
        attributes: dict[str, list[str]] = dict(found.get("attributes") or {})
        if attributes.get("pid") != [str(user.person_id)]:
            # Sent whole: a PUT with `attributes` drops the unmanaged ones it does not list.
            changes["attributes"] = {**attributes, "pid": [str(user.person_id)]}
        if changes:
            await self._admin.a_update_user(found["id"], changes)
            log.info("keycloak.user_updated", keycloak_user_id=found["id"], fields=sorted(changes))

    async def _sync_groups(self, user_id: str, desired: frozenset[str]) -> None:
        """Join the missing managed groups and leave the undesired ones; others stay."""
        current = {
            group["path"]: group["id"]
            for group in await self._admin.a_get_user_groups(user_id)
            if is_managed_group(group["path"])
        }
        joined = sorted(desired - current.keys())
        left = sorted(current.keys() - desired)
        for path in joined:
            try:
                await self._join(user_id, path)
            except KeycloakError as exc:
                if exc.response_code != 404 or self._group_ids.pop(path, None) is None:
                    raise
                # The cached group was deleted in Keycloak meanwhile: look it up (or create) anew.
                await self._join(user_id, path)
        for path in left:
            await self._admin.a_group_user_remove(user_id, current[path])
        if joined or left:
            log.info("keycloak.groups_synced", keycloak_user_id=user_id, joined=joined, left=left)

    async def _join(self, user_id: str, path: str) -> None:
        """Add the user to the group at `path`."""
        try:
            await self._admin.a_group_user_add(user_id, await self._group_id(path))
        except KeycloakError as exc:
            # 409: a concurrent apply of the same person added the membership first.
            if exc.response_code != 409:
                raise

    async def _group_id(self, path: str) -> str:
        """The id of the group at `path`, creating it and its missing ancestors."""
        if path in self._group_ids:
            return self._group_ids[path]
        try:
            group_id = str((await self._admin.a_get_group_by_path(path))["id"])
        except KeycloakError as exc:
            if exc.response_code != 404:
                raise
            parent, _, name = path.rpartition("/")
            parent_id = await self._group_id(parent) if parent else None
            created = await self._admin.a_create_group(
                {"name": name}, parent=parent_id, skip_exists=True
            )
            if created is None:  # 409: a concurrent apply created it first
                created = (await self._admin.a_get_group_by_path(path))["id"]
            else:
                log.info("keycloak.group_created", path=path)
            group_id = str(created)
        self._group_ids[path] = group_id
        return group_id


def _profile(user: DirectoryUser) -> dict[str, Any]:
    """The user representation's profile fields as identity wants them."""
    email = user.email.lower() if user.email else ""  # Keycloak stores e-mails lowercased
    return {
        # All in firstName: the `name` claim joins first and last name with a space.
        "firstName": user.display_name,
        "lastName": "",
        "email": email,  # "" removes it
        "emailVerified": bool(email),
        "enabled": user.enabled,
    }
