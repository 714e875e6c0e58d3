"""Signed-in sessions, kept server-side in a NATS JetStream key-value bucket.

The browser holds only an opaque random id in an HTTP-only, SameSite=Lax cookie; the tokens
stay on the server. A KV bucket is shared by every portal replica and forgets entries after
the session lifetime. A sign-in in progress (PKCE verifier, nonce, where to return) is kept
under `login.<state>` until the callback uses it, once.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue

COOKIE = "licheng_session"


def new_id() -> str:
    """A session id or secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


@dataclass
class Session:
    """One signed-in person: their tokens, who they are, and the school they work in."""

    id: str
    access_token: str
    expires_at: float
    person_id: str | None
    name: str
    username: str | None
    roles_by_school: dict[str, list[str]]
    district_operator: bool = False
    refresh_token: str | None = None
    refresh_expires_at: float | None = None
    id_token: str | None = None
    school_code: str | None = None
    csrf: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)

    def roles(self) -> list[str]:
        """The roles held in the chosen school."""
        return list(self.roles_by_school.get(self.school_code or "", []))

    def expired(self, margin: float = 0.0) -> bool:
        """True when the access token ends within `margin` seconds."""
        return time.time() + margin >= self.expires_at


@dataclass
class PendingSignIn:
    """A sign-in that went to Keycloak and has not come back yet."""

    state: str
    code_verifier: str
    nonce: str
    next_path: str
    created_at: float = field(default_factory=time.time)


class SessionStore:
    """Sessions and pending sign-ins in a KV bucket."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, *, bucket: str, ttl_seconds: int) -> SessionStore:
        """The store on its bucket, created when missing."""
        try:
            kv = await js.key_value(bucket)
        except BucketNotFoundError:
            kv = await js.create_key_value(bucket=bucket, ttl=ttl_seconds, history=1)
        return cls(kv)

    async def _get(self, key: str) -> dict[str, Any] | None:
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        value: dict[str, Any] = json.loads(entry.value)
        return value

    async def get(self, session_id: str) -> Session | None:
        """The session with this id, if any (a malformed id is simply unknown)."""
        if not session_id or not session_id.replace("-", "").replace("_", "").isalnum():
            return None
        data = await self._get(f"session.{session_id}")
        return Session(**data) if data else None

    async def save(self, session: Session) -> None:
        """Store (or replace) a session."""
        await self._kv.put(f"session.{session.id}", json.dumps(asdict(session)).encode())

    async def delete(self, session_id: str) -> None:
        """Forget a session (sign-out)."""
        with contextlib.suppress(KeyNotFoundError):
            await self._kv.delete(f"session.{session_id}")

    async def begin_sign_in(self, pending: PendingSignIn) -> None:
        """Remember a sign-in until its callback."""
        await self._kv.put(f"login.{pending.state}", json.dumps(asdict(pending)).encode())

    async def finish_sign_in(
        self, state: str, *, max_age_seconds: float = 600
    ) -> PendingSignIn | None:
        """The pending sign-in of `state`, once; None when unknown, used or too old."""
        if not state or not state.replace("-", "").replace("_", "").isalnum():
            return None
        data = await self._get(f"login.{state}")
        if data is None:
            return None
        await self._kv.delete(f"login.{state}")
        pending = PendingSignIn(**data)
        if time.time() - pending.created_at > max_age_seconds:
            return None
        return pending
