"""Matching 收訖明細 entries to students through identity's `/internal/v1/students/match`.

The (身分證號, 出生日期) pairs go in the POST body with our client-credentials token; identity
answers student ids only (found by its blind index, checked against the 出生日期), in asked
order. Nothing here keeps, logs or raises the values.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import httpx
import structlog
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from licheng.exports.identifiers import IdentityUnavailable, TokenSource
from licheng.exports.settings import Settings
from licheng.kit.service_tokens import ClientCredentials, ServiceTokenError

log = structlog.get_logger("licheng.exports.receipts.matching")

MATCH_PATH = "/internal/v1/students/match"
BATCH_SIZE = 1000  # identity accepts up to 5000 per request
_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Pair:
    """One entry's 身分證號 and 出生日期; the repr hides both."""

    national_id: str = field(repr=False)
    birth_date: date = field(repr=False)


class StudentMatcher(Protocol):
    """Answers, per pair and in order, the school's student holding it (or None)."""

    async def match(
        self, *, school_code: str, pairs: Sequence[Pair], purpose: str
    ) -> list[uuid.UUID | None]: ...


class _Answer(BaseModel):
    student_ids: list[uuid.UUID | None]


class IdentityMatcher:
    """Asks identity's internal endpoint, in batches."""

    def __init__(self, *, identity_url: str, tokens: TokenSource, batch_size: int = BATCH_SIZE):
        self.url = identity_url.rstrip("/") + MATCH_PATH
        self._tokens = tokens
        self._batch_size = batch_size

    async def match(
        self, *, school_code: str, pairs: Sequence[Pair], purpose: str
    ) -> list[uuid.UUID | None]:
        """The student id of each pair in `school_code`, or None; `purpose` is audited."""
        found: list[uuid.UUID | None] = []
        async with httpx.AsyncClient(timeout=_TIMEOUT_SECONDS) as client:
            for start in range(0, len(pairs), self._batch_size):
                batch = pairs[start : start + self._batch_size]
                found.extend(await self._ask(client, school_code, batch, purpose))
        log.info(
            "receipts.matched",
            school_code=school_code,
            purpose=purpose,
            asked=len(pairs),
            matched=sum(1 for i in found if i is not None),
        )
        return found

    async def _ask(
        self, client: httpx.AsyncClient, school_code: str, batch: Sequence[Pair], purpose: str
    ) -> list[uuid.UUID | None]:
        body: dict[str, object] = {
            "school_code": school_code,
            "entries": [
                {"national_id": p.national_id, "birth_date": p.birth_date.isoformat()}
                for p in batch
            ],
            "purpose": purpose,
        }
        response = await self._post(client, body)
        if response.status_code == 401 and isinstance(self._tokens, ClientCredentials):
            self._tokens.invalidate()  # a cached token identity no longer accepts: one retry
            response = await self._post(client, body)
        if response.status_code != 200:
            log.warning("receipts.identity_failed", status=response.status_code)
            raise IdentityUnavailable(
                f"身分資料服務暫時無法比對學生（HTTP {response.status_code}），請稍後再試",
                detail={"status": response.status_code},
            )
        try:
            answer = _Answer.model_validate_json(response.content)
        except ValidationError:
            raise IdentityUnavailable("身分資料服務的回應格式有誤") from None
        if len(answer.student_ids) != len(batch):
            raise IdentityUnavailable("身分資料服務的回應筆數不符")
        return answer.student_ids

    async def _post(self, client: httpx.AsyncClient, body: dict[str, object]) -> httpx.Response:
        try:
            token = await self._tokens.token()
        except ServiceTokenError as exc:
            raise IdentityUnavailable(
                "無法取得系統服務憑證，暫時無法比對學生", detail=exc.detail
            ) from exc
        try:
            return await client.post(
                self.url, json=body, headers={"authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            log.warning("receipts.identity_unreachable", error=type(exc).__name__)
            raise IdentityUnavailable("無法連線至身分資料服務，請稍後再試") from exc


def student_matcher(request: Request) -> StudentMatcher:
    """The app's matcher (a test may set `app.state.student_matcher`), built once."""
    state = request.app.state
    matcher: StudentMatcher | None = getattr(state, "student_matcher", None)
    if matcher is None:
        settings: Settings = state.settings
        matcher = IdentityMatcher(
            identity_url=settings.identity_url,
            tokens=ClientCredentials(
                token_url=settings.token_url,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
            ),
        )
        state.student_matcher = matcher
    return matcher
