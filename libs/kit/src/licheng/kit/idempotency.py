"""`Idempotency-Key`: a retried write returns the first answer instead of doing the work twice.

A client that may retry (uploads, 送審, imports, creating an outcome) sends a key of its own.
The first request with that key, from the same caller to the same method and path, runs and
its answer is kept; a repeat gets that answer back, marked `Idempotent-Replay: true`. A repeat
arriving while the first is still running gets 409 rather than running alongside it. Answers
of 5xx are not kept, so a retry after a server failure runs again (unless the work had
committed: see below). The key stands for one
request: its fingerprint (query string and body) is kept with the answer, and the same key sent
with a different request is refused (422 `idempotency_key_reused`) rather than answered with
the first request's result.

A request whose process died (SIGKILL, a crashed pod) leaves its record PENDING. Once that
record is older than `pending_takeover_seconds` (longer than any request may run), the next
retry takes it over with one compare-and-swap of its `created_at` (of two racing retries only
one wins; the other gets 409) and runs the request afresh. That redo is safe because the
request's writes and the mark `WORK_COMMITTED` on its record commit in one transaction (a
`before_commit` hook on the request's session, fenced by the claim: a request whose record was
taken over meanwhile cannot commit, 409 `request_taken_over`). So a record still PENDING means
nothing was written; a record marked WORK_COMMITTED whose answer was never kept (the process
died between the commit and keeping the answer, or the answer could not be kept) is never
redone: a retry gets 409 `request_already_done`, asking the person to look at the result.
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, SessionTransaction
from sqlmodel import Field, Session, SQLModel
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
PENDING = 0  # claimed, nothing committed yet
WORK_COMMITTED = 1  # the request's writes committed; its answer is not kept (yet)
DEFAULT_PENDING_TAKEOVER_SECONDS = 120.0


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

    def __init__(
        self,
        app: ASGIApp,
        *,
        state: object,
        pending_takeover_seconds: float = DEFAULT_PENDING_TAKEOVER_SECONDS,
    ) -> None:
        self.app = app
        self.state = state  # the app's state, filled by the lifespan
        self.pending_takeover = timedelta(seconds=pending_takeover_seconds)

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
            claimed = await self._claim(factory, key_hash)
        except Exception as exc:
            # Outside the app's exception handlers: answer an unreachable database here.
            if not database_unavailable(exc):
                raise
            log.warning("idempotency.database_unavailable", exc_type=type(exc).__name__)
            await _send_error(send, DatabaseUnavailable())
            return
        if isinstance(claimed, IdempotencyRecord):
            kept = claimed
            if kept.status_code not in UNANSWERED and kept.request_hash is not None:
                fingerprint = await _fingerprint_of_body(scope, receive)
                if fingerprint != kept.request_hash:
                    await _send_error(send, IdempotencyKeyReused())
                    return
            await self._replay(kept, send)
            return
        await self._run_and_keep(scope, receive, send, claimed, factory)

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

    async def _claim(self, factory: SessionFactory, key_hash: str) -> _Claim | IdempotencyRecord:
        """Claim the key to run the request (a new key, or a PENDING one left by a dead
        process), or the record to answer from."""
        now = utcnow()
        async with factory() as session:
            kept = await session.get(IdempotencyRecord, key_hash)
            if kept is None:
                session.add(IdempotencyRecord(key_hash=key_hash, created_at=now))
                try:
                    await session.commit()
                except IntegrityError:  # another copy just started
                    return IdempotencyRecord(key_hash=key_hash, created_at=now)
                return _Claim(key_hash, now)
            if kept.status_code != PENDING or kept.created_at > now - self.pending_takeover:
                return kept
            taken = await session.exec(
                sa.update(IdempotencyRecord)
                .where(
                    _columns.key_hash == key_hash,
                    _columns.status_code == PENDING,
                    _columns.created_at == kept.created_at,
                )
                .values(created_at=now)
            )
            await session.commit()
        if taken.rowcount != 1:  # another retry took it over first
            return IdempotencyRecord(key_hash=key_hash, created_at=now)
        log.warning("idempotency.pending_taken_over", pending_since=kept.created_at.isoformat())
        return _Claim(key_hash, now)

    async def _replay(self, kept: IdempotencyRecord, send: Send) -> None:
        if kept.status_code in UNANSWERED:
            if kept.status_code == WORK_COMMITTED and kept.created_at < (
                utcnow() - self.pending_takeover
            ):
                await _send_error(send, RequestAlreadyDone())
                return
            await _send_error(
                send, Conflict("相同的請求仍在處理中，請稍後再試", code="request_in_progress")
            )
            return
        headers = [(k.encode(), v.encode()) for k, v in json.loads(kept.headers)]
        headers.append((b"idempotent-replay", b"true"))
        await send({"type": "http.response.start", "status": kept.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": kept.body})

    async def _run_and_keep(
        self, scope: Scope, receive: Receive, send: Send, claim: _Claim, factory: SessionFactory
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

        running = _CLAIM.set(claim)  # the request's commits mark its record (see below)
        try:
            await self.app(scope, hashing_receive, capture)
        finally:
            _CLAIM.reset(running)
            try:
                await _keep(factory, claim, status, headers, bytes(body), fingerprint.value)
            except Exception as exc:
                # The answer went out; only keeping it failed. The record stays PENDING (nothing
                # committed: a retry past the takeover bound redoes it) or WORK_COMMITTED (a
                # retry is told the work is done).
                if not database_unavailable(exc):
                    raise
                log.warning("idempotency.keep_failed", exc_type=type(exc).__name__)


async def _keep(
    factory: SessionFactory,
    claim: _Claim,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    request_hash: str | None,
) -> None:
    """Keep the answer, if the record is still this request's."""
    owned = sa.and_(
        _columns.key_hash == claim.key_hash,
        _columns.created_at == claim.claimed_at,
    )
    async with factory() as session:
        if status < 500 and len(body) <= MAX_STORED_BODY:
            await session.exec(
                sa.update(IdempotencyRecord)
                .where(owned)
                .values(
                    status_code=status,
                    headers=json.dumps(headers),
                    body=body,
                    request_hash=request_hash,
                )
            )
        else:
            # Nothing committed: let a retry run again. Work committed but its answer cannot
            # be kept: a retry is told so rather than doing the work twice.
            await session.exec(
                sa.delete(IdempotencyRecord).where(
                    owned,
                    _columns.status_code == PENDING,
                )
            )
            done = RequestAlreadyDone()
            await session.exec(
                sa.update(IdempotencyRecord)
                .where(
                    owned,
                    _columns.status_code == WORK_COMMITTED,
                )
                .values(
                    status_code=done.status_code,
                    headers=json.dumps([("content-type", "application/json")]),
                    body=json.dumps(done.body(), ensure_ascii=False).encode(),
                    request_hash=request_hash,
                )
            )
        await session.commit()


@dataclass(frozen=True)
class _Claim:
    """This process runs the request for `key_hash`, as long as the record's `created_at` is
    still `claimed_at` (a retry taking a stale record over sets a new one)."""

    key_hash: str
    claimed_at: datetime


_columns = IdempotencyRecord.__table__.c  # type: ignore[attr-defined]
_CLAIM: ContextVar[_Claim | None] = ContextVar("licheng_idempotency_claim", default=None)
_WROTE = "licheng.idempotency.wrote"
UNANSWERED = frozenset({PENDING, WORK_COMMITTED})


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_writes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


@event.listens_for(Session, "before_commit")
def _mark_work_committed(session: Session) -> None:
    """In the transaction of a request that wrote something, mark its record WORK_COMMITTED:
    the writes and the mark commit together or not at all. A record taken over meanwhile by a
    retry (this request outlived `pending_takeover_seconds`) refuses the commit."""
    claim = _CLAIM.get()
    if claim is None:
        return
    session.flush()
    if not session.info.get(_WROTE):
        return  # a read-only phase ending (release_connection): nothing done yet
    marked = session.exec(
        sa.update(IdempotencyRecord)
        .where(
            _columns.key_hash == claim.key_hash,
            _columns.created_at == claim.claimed_at,
        )
        .values(
            status_code=sa.case(
                (_columns.status_code == PENDING, WORK_COMMITTED), else_=_columns.status_code
            )
        )
    )
    if marked.rowcount != 1:
        raise RequestTakenOver()


class IdempotencyKeyReused(AppError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "此 Idempotency-Key 已用於另一個不同的請求；新的請求請使用新的 key"


class RequestAlreadyDone(AppError):
    status_code = 409
    code = "request_already_done"
    default_message = "此請求先前已完成，但當時的回覆未能保存；請重新整理頁面查看結果，不必再送出"


class RequestTakenOver(AppError):
    status_code = 409
    code = "request_taken_over"
    default_message = "此請求處理過久，已由重送的請求接手；請重新整理頁面查看結果"


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
