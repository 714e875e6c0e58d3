"""`Idempotency-Key`: a retried write returns the first answer instead of doing the work twice.

A client that may retry (uploads, 送審, imports, creating an outcome) sends a key of its own.
The first request with that key, from the same caller to the same method and path, runs and
its answer is kept; a repeat gets that answer back, marked `Idempotent-Replay: true`. A repeat
arriving while the first is still running gets 409 rather than running alongside it. Answers
of 5xx are not kept, so a retry after a server failure runs again (when the database went away
before even the 5xx could be noted, a retry takes the pending record over once it is older than
`PENDING_ABANDONED_AFTER`). The key stands for one request: its fingerprint (query string and
body) is kept with the answer, and the same key sent with a different request is refused (422
`idempotency_key_reused`) rather than answered with the first request's result.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from licheng.kit.auth import TokenVerifier
from licheng.kit.db import SessionFactory
from licheng.kit.errors import (
    AppError,
    Conflict,
    DatabaseUnavailable,
    Unauthorized,
    database_unavailable,
)
from licheng.kit.timeutil import tz_datetime_column, utcnow

log = structlog.get_logger("licheng.idempotency")
HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 200
MAX_STORED_BODY = 1024 * 1024
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PENDING = 0
# A pending record older than this belongs to a request that will never finish: the gateway
# gives up on a request after 30 s and a statement times out after 30 s (kit.db), so two
# minutes is long past any request still running.
PENDING_ABANDONED_AFTER = timedelta(minutes=2)


class IdempotencyRecord(SQLModel, table=True):
    """The kept answer to one (caller, method, path, key)."""

    __tablename__ = "idempotency_record"

    key_hash: str = Field(primary_key=True, max_length=64)
    status_code: int = PENDING
    headers: str = Field(default="[]", sa_column=sa.Column(sa.Text(), nullable=False))
    body: bytes = Field(default=b"", sa_column=sa.Column(sa.LargeBinary(), nullable=False))
    request_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _send_error(send: Send, error: AppError) -> None:
    body = json.dumps(error.body(), ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (error.headers or {}).items()]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    """Keeps and replays answers to writes that carry an `Idempotency-Key`."""

    def __init__(self, app: ASGIApp, *, state: object) -> None:
        self.app = app
        self.state = state  # the app's state, filled by the lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client_key = _header(scope, HEADER) if scope["type"] == "http" else None
        if client_key is None or scope.get("method") not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            key_hash = await self._key_hash(scope, client_key)
        except AppError as error:
            await _send_error(send, error)
            return
        factory: SessionFactory = self.state.session_factory  # type: ignore[attr-defined]
        try:
            kept = await self._claim(factory, key_hash)
        except Exception as exc:
            # Outside the app's exception handlers: answer an unreachable database here.
            if not database_unavailable(exc):
                raise
            log.warning("idempotency.database_unavailable", exc_type=type(exc).__name__)
            await _send_error(send, DatabaseUnavailable())
            return
        if kept is not None:
            if kept.status_code != PENDING and kept.request_hash is not None:
                fingerprint = await _fingerprint_of_body(scope, receive)
                if fingerprint != kept.request_hash:
                    await _send_error(send, IdempotencyKeyReused())
                    return
            await self._replay(kept, send)
            return
        await self._run_and_keep(scope, receive, send, key_hash, factory)

    async def _claim(self, factory: SessionFactory, key_hash: str) -> IdempotencyRecord | None:
        """The record kept under `key_hash`, or None once a pending one is written for us."""
        async with factory() as session:
            kept = await session.get(IdempotencyRecord, key_hash)
            if kept is not None and kept.status_code == PENDING:
                # Pending for longer than any request runs: its request ended without keeping
                # an answer (the database went away first). Take it over and run again.
                cutoff = utcnow() - PENDING_ABANDONED_AFTER
                taken = await session.exec(
                    sa.update(IdempotencyRecord)
                    .where(
                        col(IdempotencyRecord.key_hash) == key_hash,
                        col(IdempotencyRecord.status_code) == PENDING,
                        col(IdempotencyRecord.created_at) < cutoff,
                    )
                    .values(created_at=utcnow())
                )
                await session.commit()
                return None if taken.rowcount == 1 else kept
            if kept is None:
                session.add(IdempotencyRecord(key_hash=key_hash))
                try:
                    await session.commit()
                except IntegrityError:
                    kept = IdempotencyRecord(key_hash=key_hash)  # another copy just started
            return kept

    async def _key_hash(self, scope: Scope, client_key: str) -> str:
        if not 0 < len(client_key) <= MAX_KEY_LENGTH:
            raise AppError(
                "Idempotency-Key 長度必須介於 1 到 200 字元", code="idempotency_key_invalid"
            )
        authorization = _header(scope, b"authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized()
        verifier: TokenVerifier = self.state.token_verifier  # type: ignore[attr-defined]
        claims = await verifier.verify(token.strip())  # never replay to an unverified caller
        caller = str(claims.get("pid") or claims["sub"])  # the person, however they signed in
        material = "\n".join([caller, scope["method"], scope["path"], client_key])
        return hashlib.sha256(material.encode()).hexdigest()

    async def _replay(self, kept: IdempotencyRecord, send: Send) -> None:
        if kept.status_code == PENDING:
            await _send_error(
                send, Conflict("相同的請求仍在處理中，請稍後再試", code="request_in_progress")
            )
            return
        headers = [(k.encode(), v.encode()) for k, v in json.loads(kept.headers)]
        headers.append((b"idempotent-replay", b"true"))
        await send({"type": "http.response.start", "status": kept.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": kept.body})

    async def _run_and_keep(
        self, scope: Scope, receive: Receive, send: Send, key_hash: str, factory: SessionFactory
    ) -> None:
        status = 500
        headers: list[tuple[str, str]] = []
        body = bytearray()
        fingerprint = _Fingerprint(scope)

        async def hashing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                fingerprint.update(message.get("body", b""), more=message.get("more_body", False))
            return message

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers.extend(
                    (bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                    for k, v in message.get("headers", [])
                    if bytes(k).lower() not in (b"x-request-id", b"content-length")
                )
            elif message["type"] == "http.response.body" and len(body) <= MAX_STORED_BODY:
                body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, hashing_receive, capture)
        finally:
            try:
                await self._keep(factory, key_hash, status, headers, bytes(body), fingerprint.value)
            except Exception as exc:
                # The answer went out; only keeping it failed. The pending record stays, and a
                # retry with this key finds it abandoned once PENDING_ABANDONED_AFTER passed.
                if not database_unavailable(exc):
                    raise
                log.warning("idempotency.keep_failed", exc_type=type(exc).__name__)

    async def _keep(
        self,
        factory: SessionFactory,
        key_hash: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        request_hash: str | None,
    ) -> None:
        async with factory() as session:
            record = await session.get(IdempotencyRecord, key_hash)
            if record is None:
                return
            if status >= 500 or len(body) > MAX_STORED_BODY:
                await session.delete(record)  # let a retry run again
            else:
                record.status_code, record.headers, record.body = status, json.dumps(headers), body
                record.request_hash = request_hash
            await session.commit()


class IdempotencyKeyReused(AppError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "此 Idempotency-Key 已用於另一個不同的請求；新的請求請使用新的 key"


class _Fingerprint:
    """SHA-256 of a request's query string and body, computed as the body streams by.

    A multipart body (an upload) is not hashed: its boundary is new at every send, so a faithful
    retry would never match; uploads compare their query string only. `value` is None when the
    app did not read the whole body (then nothing can be compared).
    """

    def __init__(self, scope: Scope) -> None:
        self._digest = hashlib.sha256(bytes(scope.get("query_string", b"")) + b"\n")
        content_type = (_header(scope, b"content-type") or "").lower()
        self._hash_body = not content_type.startswith("multipart/")
        self._complete = False

    def update(self, chunk: bytes, *, more: bool) -> None:
        if self._hash_body:
            self._digest.update(chunk)
        self._complete = not more

    @property
    def value(self) -> str | None:
        return self._digest.hexdigest() if self._complete else None


async def _fingerprint_of_body(scope: Scope, receive: Receive) -> str | None:
    fingerprint = _Fingerprint(scope)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None  # the client went away
        fingerprint.update(message.get("body", b""), more=message.get("more_body", False))
        if not message.get("more_body", False):
            return fingerprint.value
